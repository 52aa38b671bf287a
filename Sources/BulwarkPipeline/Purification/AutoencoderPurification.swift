import BulwarkData
import BulwarkDefenses
import BulwarkModel
import Foundation

/// Purification by a convolutional autoencoder trained on clean images (Meng and Chen 2017,
/// "MagNet"; `bulwark train --arch autoencoder`): each image is replaced by its
/// reconstruction, the sigmoid of the network's outputs, which lies near the manifold of clean
/// images the network has learned and so tends to drop perturbations off it.
///
/// The stage is differentiable, so `backward(gradient:input:)` is the true gradient through the
/// network and the sigmoid (adaptive attacks need no BPDA). In a pipeline file:
/// `{ type: "autoencoder", model: "models/autoencoder-fashion.safetensors" }`, the path
/// relative to the pipeline file's folder.
public struct AutoencoderPurification: RegisteredPreprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "autoencoder"
  /// `model`, a path relative to the pipeline file.
  public static var pathKeys: [String] { [modelParameter.key] }

  /// The `model` parameter: the autoencoder's Bulwark model file (required).
  public static let modelParameter = DefenseParameter(
    "model", default: "", expected: "the path of an autoencoder model file", accepts: { _ in true })

  /// The model file as the stage names it.
  public let modelPath: String
  /// The model file, resolved (against the pipeline file's folder once loaded from one); nil
  /// for a network given in memory.
  public private(set) var modelFile: URL?
  /// The network, once loaded; nil until ``loadingModel()`` (each pass then reads the file).
  public private(set) var network: Network?

  /// A stage that reads its model from a file when it runs, or when ``loadingModel()`` is
  /// called.
  /// - Parameter modelPath: The model file; a relative path is relative to the current folder
  ///   until ``resolvingRelativePaths(against:)`` resolves it.
  public init(modelPath: String) {
    self.modelPath = modelPath
    modelFile = URL(fileURLWithPath: modelPath)
  }

  /// A stage that runs a network already in memory.
  /// - Parameters:
  ///   - network: The autoencoder: one output per input value, channels first.
  ///   - name: What errors call the model.
  /// - Throws: ``AutoencoderError/output(file:expected:found:)`` when the network's output
  ///   does not match its input shape.
  public init(network: Network, name: String = "(in memory)") throws(AutoencoderError) {
    modelPath = name
    try Self.check(network, file: name)
    self.network = network
  }

  /// Decodes `{ model: "models/autoencoder.safetensors" }`.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` when `model` is missing or not a string.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    self.init(modelPath: try parameters.required(Self.modelParameter))
  }

  /// This stage with its model file resolved against `folder` when relative; a loaded network
  /// is dropped, since it may have come from another file.
  /// - Parameter folder: The pipeline file's folder.
  /// - Returns: The stage.
  public func resolvingRelativePaths(against folder: URL) -> AutoencoderPurification {
    guard !modelPath.hasPrefix("/") else { return self }
    var stage = AutoencoderPurification(modelPath: modelPath)
    stage.modelFile = folder.appendingPathComponent(modelPath).standardizedFileURL
    return stage
  }

  /// This stage with its network read from ``modelFile`` and checked, so that later passes do
  /// not read the file again.
  /// - Returns: The stage with its network.
  /// - Throws: ``AutoencoderError`` for a file that cannot be read or a network whose output
  ///   does not match its input shape.
  public func loadingModel() throws(AutoencoderError) -> AutoencoderPurification {
    var stage = self
    stage.network = try readNetwork()
    return stage
  }

  /// ``loadingModel()``, as a pipeline file loads its stages.
  /// - Returns: The stage with its network.
  /// - Throws: ``AutoencoderError`` as ``loadingModel()``.
  public func loadingFiles() throws -> AutoencoderPurification {
    try loadingModel()
  }

  /// The model file, whose bytes sets made against the pipeline depend on.
  public var inputFiles: [URL] { modelFile.map { [$0] } ?? [] }

  /// The network, read from the file when not loaded.
  private func readNetwork() throws(AutoencoderError) -> Network {
    if let network { return network }
    guard let modelFile else { preconditionFailure("a stage without a file has its network") }
    let network: Network
    do {
      network = try Network(contentsOf: modelFile)
    } catch {
      throw .unreadable(file: modelName, reason: "\(error)")
    }
    try Self.check(network, file: modelName)
    return network
  }

  /// The model as errors name it: its file, or the name given with the network.
  private var modelName: String { modelFile?.path ?? modelPath }

  private static func check(_ network: Network, file: String) throws(AutoencoderError) {
    let input = network.architecture.input
    guard network.architecture.classes == input.valueCount else {
      throw .output(
        file: file, expected: "\(input.valueCount) values (its \(input) input)",
        found: "\(network.architecture.classes)")
    }
  }

  /// The network and its outputs on a batch, checked against its input shape.
  private func outputs(_ batch: ImageBatch) throws -> (network: Network, outputs: [Float]) {
    let network = try readNetwork()
    guard batch.shape == network.architecture.input else {
      throw AutoencoderError.input(
        file: modelName, expected: "\(network.architecture.input)", found: "\(batch.shape)")
    }
    return (network, try network.logits(batch))
  }

  /// Replaces every image by its reconstruction, `sigmoid(network(x))`.
  /// - Parameter batch: Images, NHWC, of the model's input shape.
  /// - Returns: The reconstructions, values in (0, 1).
  /// - Throws: ``AutoencoderError`` for an unusable model or a batch of another shape;
  ///   `ModelError` for NaN or infinite pixels.
  public func process(_ batch: ImageBatch) throws -> ImageBatch {
    let outputs = try outputs(batch).outputs.map(ReconstructionLoss.sigmoid)
    var result = batch
    result.pixels = ReconstructionLoss.channelsLast(outputs, shape: batch.shape)
    return result
  }

  /// The true gradient through the reconstruction: the output gradient times the sigmoid's
  /// derivative `s (1 - s)`, then back through the network.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the reconstruction, NHWC.
  ///   - input: This stage's input.
  /// - Returns: The gradient with respect to `input`, NHWC.
  /// - Throws: As ``process(_:)``; ``AutoencoderError/gradient(expected:found:)`` for a
  ///   gradient of another size than the input.
  public func backward(gradient: [Float], input: ImageBatch) throws -> [Float] {
    guard gradient.count == input.pixels.count else {
      throw AutoencoderError.gradient(expected: input.pixels.count, found: gradient.count)
    }
    let (network, outputs) = try outputs(input)
    let upstream = ReconstructionLoss.channelsFirst(gradient, shape: input.shape)
    var outputGradient = [Float](repeating: 0, count: outputs.count)
    for index in outputs.indices {
      let value = ReconstructionLoss.sigmoid(outputs[index])
      outputGradient[index] = upstream[index] * value * (1 - value)
    }
    return try network.lossAndGradients(
      input, logitGradient: outputGradient, mode: .evaluation
    ).input
  }

  /// 3.5: `bulwark score pipelines/defenses/autoencoder.json5` measured the committed 28x28
  /// autoencoder at 213 microseconds per image against LeNet-5's 61 (0.71 million
  /// multiply-adds against 0.42 million, on activations up to 16x28x28).
  public var relativeCost: Double { 3.5 }
}
