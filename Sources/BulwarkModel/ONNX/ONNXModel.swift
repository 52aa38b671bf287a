import BulwarkCore
import BulwarkData
import Foundation

/// A frozen classifier loaded from an ONNX file, as PyTorch exports it (the current dynamo
/// exporter and the older TorchScript one).
///
/// The file is decoded by Bulwark's own protobuf reader, checked (topological order, names
/// defined once, one image input `[N, C, H, W]` float32, one output `[N, classes]`), and
/// compiled into a plan: constant shape computations are evaluated at load time, batch norms
/// are folded into the convolutions before them, and the operations run on Bulwark's own
/// kernels, batched and multithreaded. Images enter NHWC in [0, 1], as for every
/// ``Classifier``, and are transposed to NCHW inside.
///
/// Every value computed from the images keeps the batch as its leading dimension. A `Reshape`
/// target whose first entry is a fixed number (exporters bake in the export batch size, e.g.
/// `[2, 400]`) is read as `[batch, 400]` when the other entries hold exactly one image; a
/// target that would mix images of a batch is an error that says so. A target of one axis
/// (`[-1]`) flattens the export's batch of 1 with the image; only a `Gather` whose indices
/// stay within one image and whose output's first dimension is 1 may read it (dynamo writes
/// `as_strided` so), and it is read per image.
///
/// If the graph ends in `Softmax` or `LogSoftmax`, ``logits(_:)`` returns the scores before it
/// and ``lossGradient(_:labels:)`` takes the cross-entropy of those scores, so attacks see the
/// same loss as for a graph that ends in logits.
///
/// Supported operators: Conv, ConvTranspose, MaxPool, AveragePool, GlobalAveragePool,
/// GlobalMaxPool, ReduceMean, Resize and Upsample, Gemm, MatMul, Add, Sub, Mul, Div,
/// BatchNormalization, LayerNormalization, the activations (Relu, Clip, Sigmoid, HardSigmoid,
/// HardSwish, Tanh, LeakyRelu, Elu, Gelu, Erf, Pow, Sqrt), Softmax and LogSoftmax, Flatten,
/// Reshape, Dropout, Identity, Constant; Shape on any value; Unsqueeze, Squeeze and Cast on
/// constants and as renamings of image values; Concat, Split, Slice, Gather, Transpose and Pad on
/// constants and image values alike. Reference:
/// the ONNX operator specification (onnx.ai), each operator at the highest version not above
/// the model's opset.
public struct ONNXModel: Classifier {
  /// The images the model takes: height x width x channels.
  public let inputShape: ImageShape
  /// The number of classes it scores.
  public let classCount: Int
  /// How the work is spread over threads.
  public var options: ComputeOptions
  /// The default-domain operator set version the model imports.
  public let opset: Int
  /// The producer named in the file, e.g. `pytorch 2.5.0`.
  public let producer: String
  /// The number of values in the model's floating-point initializers (weights, biases,
  /// batch-norm statistics).
  public let parameterCount: Int
  /// True when the graph ends in Softmax or LogSoftmax, which ``logits(_:)`` leaves out.
  public let endsInSoftmax: Bool
  /// The graph's nodes with their operators, inputs, outputs and shapes.
  public let nodes: [ONNXNodeSummary]
  let plan: ONNXPlan

  /// Loads and compiles an ONNX model; external data files are read relative to its folder.
  /// - Parameters:
  ///   - url: The `.onnx` file.
  ///   - options: Threads to use.
  ///   - inputShape: The image shape, for a model whose input leaves its channels, height or
  ///     width free (exported with dynamic axes); a fixed one must agree with it. Nil requires
  ///     fixed ones.
  /// - Throws: `FileAccessError` for a file that cannot be read; `FormatError` for malformed
  ///   protobuf, a graph that breaks the rules, an unsupported operator (naming the operator,
  ///   node and opset), or shapes that do not fit.
  public init(
    contentsOf url: URL, options: ComputeOptions = .init(), inputShape: ImageShape? = nil
  ) throws {
    let data = try FileAccess.contents(of: url)
    try self.init(
      bytes: [UInt8](data), file: url.path, folder: url.deletingLastPathComponent(),
      options: options, inputShape: inputShape)
  }

  /// Compiles a model from the bytes of an ONNX file.
  /// - Parameters:
  ///   - bytes: The serialized `ModelProto`.
  ///   - file: What errors call the file.
  ///   - folder: Where external data files are; nil forbids external data.
  ///   - options: Threads to use.
  ///   - foldsIntoConvolutions: False to run batch norms, ReLUs and max poolings after
  ///     convolutions as separate steps.
  ///   - inputShape: The image shape where the graph leaves it free (see
  ///     ``init(contentsOf:options:inputShape:)``).
  /// - Throws: As ``init(contentsOf:options:inputShape:)``.
  package init(
    bytes: [UInt8], file: String, folder: URL?, options: ComputeOptions = .init(),
    foldsIntoConvolutions: Bool = true, inputShape: ImageShape? = nil
  ) throws {
    let decoder = ONNXDecoder(file: file, folder: folder)
    let proto = try ONNXModelProto(bytes: bytes, decoder: decoder)
    guard let opset = proto.opsets[""] else {
      throw FormatError(
        file: file, location: .field("opset_import"),
        expected: "an operator set for the default domain", found: "none")
    }
    guard opset >= 7, opset <= ONNXCompiler.newestOpset else {
      throw FormatError(
        file: file, location: .field("opset_import"),
        expected: "default-domain opset 7...\(ONNXCompiler.newestOpset)", found: "\(opset)")
    }
    var compiler = ONNXCompiler(file: file, opset: opset)
    compiler.foldsIntoConvolutions = foldsIntoConvolutions
    compiler.givenInputShape = inputShape.map { [$0.channels, $0.height, $0.width] }
    let result = try compiler.compile(proto.graph, functions: proto.functionNames)
    plan = ONNXPlan(
      steps: compiler.steps, slotSizes: compiler.slotSizes, inputSlot: result.input,
      outputSlot: result.output, inputShape: result.inputShape, classes: result.classes,
      foldsPools: foldsIntoConvolutions)
    self.inputShape = ImageShape(
      height: result.inputShape[1], width: result.inputShape[2], channels: result.inputShape[0])
    classCount = result.classes
    self.options = options
    self.opset = opset
    producer = [proto.producerName, proto.producerVersion].filter { !$0.isEmpty }
      .joined(separator: " ")
    parameterCount = proto.graph.initializers.reduce(0) { $0 + ($1.isFloat ? $1.count : 0) }
    endsInSoftmax = compiler.endsInSoftmax
    nodes = compiler.summaries
  }

  /// Checks a batch's shape and that its pixels are finite.
  func checkInput(_ batch: ImageBatch) throws {
    try checkShape(batch)
    if let index = batch.pixels.firstIndex(where: { !$0.isFinite }) {
      let size = inputShape.valueCount
      throw ModelError(
        field: "input", expected: "finite pixel values",
        found: "\(batch.pixels[index]) in image \(index / size) at value \(index % size)")
    }
  }

  /// The raw class scores of every image (before a trailing softmax).
  /// - Parameter batch: Images of ``inputShape``.
  /// - Returns: `batch.count x classCount` values, row-major.
  /// - Throws: ``ModelError`` for a wrong shape or a NaN or infinite pixel.
  /// - Complexity: O(count x FLOP per image), spread over ``options`` threads.
  public func logits(_ batch: ImageBatch) throws -> [Float] {
    try checkInput(batch)
    return plan.run(batch.pixels, count: batch.count, head: nil, threads: options.threads)
      .logits
  }

  /// The mean cross-entropy of the logits against `labels` and its gradient with respect to
  /// the input pixels.
  /// - Parameters:
  ///   - batch: Images of ``inputShape``.
  ///   - labels: One class per image.
  /// - Returns: The loss and one gradient value per pixel value, NHWC.
  /// - Throws: ``ModelError`` for a wrong shape, NaN values or labels out of range.
  public func lossGradient(_ batch: ImageBatch, labels: [Int]) throws -> (
    loss: Double, input: [Float]
  ) {
    try checkInput(batch)
    try checkLabels(labels, count: batch.count)
    let result = plan.run(
      batch.pixels, count: batch.count, head: .crossEntropy(labels: labels),
      threads: options.threads)
    return (result.loss, result.inputGradient)
  }

  /// The logits and the input gradient of a loss given per row on them, in one pass.
  /// - Parameters:
  ///   - batch: Images of ``inputShape``.
  ///   - rowGradient: Computes each image's gradient on its logits.
  /// - Returns: The logits and one gradient value per pixel value, NHWC.
  /// - Throws: ``ModelError`` for a wrong shape or NaN values.
  public func logitsAndInputGradient(_ batch: ImageBatch, rowGradient: @escaping LogitRowGradient)
    throws -> (
      logits: [Float], input: [Float]
    )
  {
    try checkInput(batch)
    let result = plan.run(
      batch.pixels, count: batch.count, head: .perRow(rowGradient), threads: options.threads)
    return (result.logits, result.inputGradient)
  }

  /// The gradient with respect to the input pixels of a loss whose gradient with respect to
  /// the logits is `logitGradient`.
  /// - Parameters:
  ///   - batch: Images of ``inputShape``.
  ///   - logitGradient: `batch.count x classCount` finite values, row-major.
  /// - Returns: One gradient value per pixel value, NHWC.
  /// - Throws: ``ModelError`` for a wrong shape, NaN values or a gradient of another size.
  public func inputGradient(_ batch: ImageBatch, logitGradient: [Float]) throws -> [Float] {
    try checkInput(batch)
    try checkLogitGradient(logitGradient, count: batch.count)
    return plan.run(
      batch.pixels, count: batch.count, head: .upstream(logitGradient), threads: options.threads
    ).inputGradient
  }
}
