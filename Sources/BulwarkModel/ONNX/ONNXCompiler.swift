import BulwarkData

/// Turns a decoded ONNX graph into an ``ONNXPlan``: checks the graph rules, folds constant
/// shape computations, folds batch norms into convolutions, and compiles every operation on
/// runtime values into an ``ONNXStep``.
///
/// Runtime values keep images apart: every one has the batch as its leading dimension, and its
/// other dimensions (the per-image shape) are known at load time.
struct ONNXCompiler {
  /// Stands for the batch dimension inside constant shape tensors (`Shape` of a runtime value).
  static let batchMarker = Int64.min + 1
  /// The newest operator-set version whose semantics this compiler knows.
  static let newestOpset = 23

  enum Value {
    case constant(ONNXTensor)
    case runtime(slot: Int, shape: [Int])
  }

  let file: String
  let opset: Int
  var values: [String: Value] = [:]
  var slotSizes: [Int] = []
  var steps: [ONNXStep] = []
  /// The step that writes each slot, for folding a batch norm into its convolution.
  var producers: [Int: Int] = [:]
  var useCounts: [String: Int] = [:]
  var graphOutputs: Set<String> = []
  /// Image values a `Reshape` flattened to one axis, batch included: only `Gather` reads them.
  var flattenedBatches: Set<String> = []
  var endsInSoftmax = false
  /// False to keep batch norms and ReLUs after convolutions as separate steps (tests compare
  /// both ways).
  var foldsIntoConvolutions = true
  /// The per-image input shape [C, H, W] to use where the graph leaves a dimension free (and
  /// to check where it fixes one), or nil to require fixed ones.
  var givenInputShape: [Int]?
  var summaries: [ONNXNodeSummary] = []

  init(file: String, opset: Int) {
    self.file = file
    self.opset = opset
  }

  func error(_ field: String, _ expected: String, _ found: String) -> FormatError {
    FormatError(file: file, location: .field(field), expected: expected, found: found)
  }

  // MARK: The graph

  /// Compiles `graph`; returns the input and output slots and the input's per-image shape.
  mutating func compile(_ graph: ONNXGraph, functions: Set<String>) throws -> (
    input: Int, inputShape: [Int], output: Int, classes: Int
  ) {
    for tensor in graph.initializers {
      guard values[tensor.name] == nil else {
        throw error(
          "initializer '\(tensor.name)'", "each name defined once", "a second initializer")
      }
      values[tensor.name] = .constant(tensor)
    }
    var realInputs: [ONNXValueInfo] = []
    var inputNames: Set<String> = []
    for input in graph.inputs {
      guard inputNames.insert(input.name).inserted else {
        throw error("input '\(input.name)'", "each input listed once", "a duplicate")
      }
      // An initializer listed as an input is a default value; the initializer stands.
      if values[input.name] == nil { realInputs.append(input) }
    }
    guard realInputs.count == 1, let input = realInputs.first else {
      throw error(
        "graph.input", "exactly one input that is not an initializer (the images)",
        "\(realInputs.count): \(realInputs.map(\.name))")
    }
    guard input.elementType == 1, let dims = input.dims, dims.count == 4 else {
      throw error(
        "input '\(input.name)'", "float32 images of shape [N, C, H, W]",
        "element type \(input.elementType.map(String.init) ?? "none"), shape "
          + (input.dims.map { $0.map { $0.map(String.init) ?? "?" }.description } ?? "none"))
    }
    var resolved: [Int] = []
    for (axis, name) in ["C", "H", "W"].enumerated() {
      switch (dims[axis + 1], givenInputShape?[axis]) {
      case (let fixed?, nil) where fixed > 0: resolved.append(fixed)
      case (let fixed?, let given?) where fixed == given && fixed > 0: resolved.append(fixed)
      case (nil, let given?) where given > 0: resolved.append(given)
      case (let fixed?, let given?):
        throw error(
          "input '\(input.name)'", "the input shape given, \(name) = \(given)",
          "\(name) fixed at \(fixed) by the model")
      default:
        throw error(
          "input '\(input.name)'",
          "float32 images of shape [N, C, H, W] with C, H and W fixed (or an input shape given)",
          "shape " + dims.map { $0.map(String.init) ?? "?" }.description)
      }
    }
    let inputShape = resolved
    let inputSlot = newSlot(size: try size(of: inputShape, label: "input '\(input.name)'"))
    values[input.name] = .runtime(slot: inputSlot, shape: inputShape)

    guard graph.outputs.count == 1, let output = graph.outputs.first else {
      throw error(
        "graph.output", "exactly one output (the class scores)", "\(graph.outputs.count)")
    }
    graphOutputs = [output.name]
    var produced: Set<String> = []
    for node in graph.nodes {
      for name in node.inputs where !name.isEmpty { useCounts[name, default: 0] += 1 }
      produced.formUnion(node.outputs)
    }
    useCounts[output.name, default: 0] += 1

    for (index, node) in graph.nodes.enumerated() {
      let label = node.label(index: index)
      guard node.domain.isEmpty || node.domain == "ai.onnx" else {
        throw error(
          label, "an operator of the default ONNX domain",
          "op '\(node.opType)' of domain '\(node.domain)'")
      }
      guard !functions.contains(node.opType) else {
        throw error(label, "a standard operator", "a call of local function '\(node.opType)'")
      }
      for name in node.inputs where !name.isEmpty && values[name] == nil {
        if produced.contains(name) {
          throw error(
            label, "nodes in topological order (each input computed before its use)",
            "input '\(name)' computed by this or a later node (a cycle or wrong order)")
        }
        throw error(
          label, "input '\(name)' to be a graph input, an initializer or an earlier output",
          "nothing defines it (a missing initializer?)")
      }
      for name in node.inputs where flattenedBatches.contains(name) && node.opType != "Gather" {
        throw error(
          label, "a value flattened with its batch (a Reshape to one axis) read only by Gather",
          "\(node.opType) reading '\(name)'")
      }
      for name in node.outputs where !name.isEmpty && values[name] != nil {
        throw error(label, "output '\(name)' defined once", "a second definition")
      }
      try compileNode(node, label: label)
      summaries.append(
        ONNXNodeSummary(
          name: node.name, op: node.opType, inputs: node.inputs.map(describe),
          outputs: node.outputs.map(describe)))
    }

    guard let result = values[output.name] else {
      throw error("output '\(output.name)'", "a value the graph computes", "nothing")
    }
    guard case .runtime(let slot, let shape) = result, !flattenedBatches.contains(output.name),
      let classes = shape.last,
      shape.dropLast().allSatisfy({ $0 == 1 }), classes > 0
    else {
      throw error(
        "output '\(output.name)'", "class scores of shape [N, classes] computed from the input",
        describe(output.name).shape)
    }
    return (inputSlot, inputShape, slot, classes)
  }

  func describe(_ name: String) -> ONNXNodeSummary.Value {
    switch values[name] {
    case .constant(let tensor)?:
      ONNXNodeSummary.Value(
        name: name, shape: tensor.dims.map(String.init).joined(separator: " x "), isConstant: true)
    case .runtime(_, let shape)?:
      ONNXNodeSummary.Value(
        name: name, shape: (["N"] + shape.map(String.init)).joined(separator: " x "),
        isConstant: false)
    case nil:
      ONNXNodeSummary.Value(name: name, shape: "", isConstant: false)
    }
  }

  mutating func newSlot(size: Int) -> Int {
    slotSizes.append(size)
    return slotSizes.count - 1
  }

  /// Values per image Bulwark accepts in one value, and in all of them together.
  static let maximumValues = 1 << 28

  /// Values per image an operation with a map worked out at load time (Concat, Split, Slice,
  /// Transpose, Pad, ReduceMean, Resize) may read or write: its map costs bytes per value, so a
  /// file of a few bytes must not ask for gigabytes.
  static let maximumMappedValues = 1 << 24

  /// Refuses an operation whose load-time map would cover more than ``maximumMappedValues``.
  func requireMappable(_ count: Int, label: String) throws {
    guard count <= ONNXCompiler.maximumMappedValues else {
      throw error(
        label, "at most \(ONNXCompiler.maximumMappedValues) values per image in this operation",
        "\(count)")
    }
  }

  /// The number of values of `shape`, checked against overflow and ``maximumValues``.
  func size(of shape: [Int], label: String) throws -> Int {
    var size = 1
    for dim in shape {
      let (product, overflow) = size.multipliedReportingOverflow(by: dim)
      guard dim >= 0, !overflow, product <= ONNXCompiler.maximumValues else {
        throw error(
          label, "at most \(ONNXCompiler.maximumValues) values per image", "shape \(shape)")
      }
      size = product
    }
    return size
  }

  /// Adds a step writing a new slot of `shape` and defines `name` as it.
  mutating func emit(
    _ operation: ONNXStep.Operation, inputs: [(slot: Int, size: Int)], shape: [Int],
    name: String
  ) throws {
    let size = try self.size(of: shape, label: name)
    guard slotSizes.reduce(size, +) <= ONNXCompiler.maximumValues else {
      throw error(
        name, "at most \(ONNXCompiler.maximumValues) values per image in all activations",
        "more")
    }
    let slot = newSlot(size: size)
    producers[slot] = steps.count
    steps.append(
      ONNXStep(
        operation: operation, inputs: inputs.map(\.slot), output: slot, outputSize: size,
        inputSizes: inputs.map(\.size)))
    values[name] = .runtime(slot: slot, shape: shape)
  }
}
