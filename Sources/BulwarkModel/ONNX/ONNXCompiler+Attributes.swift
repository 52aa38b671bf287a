/// Reading a node's attributes and inputs, with errors naming the node.
extension ONNXCompiler {
  func int(_ node: ONNXNode, _ name: String, default value: Int, label: String) throws -> Int {
    switch node.attribute(name) {
    case nil: return value
    case .int(let value)?: return Int(truncatingIfNeeded: value)
    case let other?: throw error(label, "an integer attribute '\(name)'", "\(other)")
    }
  }

  func ints(_ node: ONNXNode, _ name: String, label: String) throws -> [Int]? {
    switch node.attribute(name) {
    case nil: return nil
    case .ints(let values)?: return values.map { Int(truncatingIfNeeded: $0) }
    case .int(let value)?: return [Int(truncatingIfNeeded: value)]
    case let other?: throw error(label, "an integer list attribute '\(name)'", "\(other)")
    }
  }

  /// A 0/1 attribute (`transB`, `keepdims`, …); any other integer is an error, not true.
  func flag(_ node: ONNXNode, _ name: String, default value: Bool, label: String) throws -> Bool {
    switch try int(node, name, default: value ? 1 : 0, label: label) {
    case 0: return false
    case 1: return true
    case let other: throw error(label, "attribute '\(name)' 0 or 1", "\(other)")
    }
  }

  /// A float attribute; every operator Bulwark compiles needs a finite one (`alpha = NaN`
  /// would turn every output into NaN).
  func float(_ node: ONNXNode, _ name: String, default value: Float, label: String) throws
    -> Float
  {
    switch node.attribute(name) {
    case nil: return value
    case .float(let value)? where value.isFinite: return value
    case .float(let value)?: throw error(label, "a finite attribute '\(name)'", "\(value)")
    case let other?: throw error(label, "a float attribute '\(name)'", "\(other)")
    }
  }

  /// A list of finite floats, or nil when absent.
  func floats(_ node: ONNXNode, _ name: String, label: String) throws -> [Float]? {
    switch node.attribute(name) {
    case nil: return nil
    case .floats(let values)? where values.allSatisfy(\.isFinite): return values
    case let other?: throw error(label, "finite floats in attribute '\(name)'", "\(other)")
    }
  }

  func string(_ node: ONNXNode, _ name: String, default value: String, label: String) throws
    -> String
  {
    switch node.attribute(name) {
    case nil: return value
    case .string(let value)?: return value
    case let other?: throw error(label, "a string attribute '\(name)'", "\(other)")
    }
  }

  /// Input `index`, or nil when absent or empty (an omitted optional input).
  func input(_ node: ONNXNode, _ index: Int) -> Value? {
    guard index < node.inputs.count, !node.inputs[index].isEmpty else { return nil }
    return values[node.inputs[index]]
  }

  func constantInput(_ node: ONNXNode, _ index: Int, label: String) throws -> ONNXTensor? {
    switch input(node, index) {
    case nil: return nil
    case .constant(let tensor)?: return tensor
    case .runtime?:
      throw error(
        label, "input \(index) ('\(node.inputs[index])') to be a constant (an initializer)",
        "a value computed from the images")
    }
  }

  func requiredConstant(_ node: ONNXNode, _ index: Int, label: String) throws -> ONNXTensor {
    guard let tensor = try constantInput(node, index, label: label) else {
      throw error(label, "input \(index)", "none")
    }
    return tensor
  }

  /// Input `index` as a runtime value: its slot and per-image shape.
  func runtimeInput(_ node: ONNXNode, _ index: Int, label: String) throws -> (
    slot: Int, shape: [Int]
  ) {
    switch input(node, index) {
    case .runtime(let slot, let shape)?: return (slot, shape)
    case .constant?:
      throw error(
        label, "input \(index) to be computed from the images",
        "a constant (\(node.opType) on constants only is not supported)")
    case nil: throw error(label, "input \(index)", "none")
    }
  }

  /// The first output's name.
  func output(_ node: ONNXNode, label: String) throws -> String {
    guard let name = node.outputs.first, !name.isEmpty else {
      throw error(label, "an output", "none")
    }
    return name
  }

  /// Constant ints of an input (opset >= the given version) or an attribute (older opsets).
  func intsFromInputOrAttribute(
    _ node: ONNXNode, input index: Int, attribute: String, since version: Int, label: String
  ) throws -> [Int64]? {
    if opset >= version {
      return try constantInput(node, index, label: label)?.ints
    }
    return try ints(node, attribute, label: label)?.map { Int64($0) }
  }

  /// An axis normalised to `0..<rank`.
  func axis(_ value: Int, rank: Int, label: String) throws -> Int {
    let normalized = value < 0 ? value + rank : value
    guard normalized >= 0, normalized < max(rank, 1) else {
      throw error(label, "an axis in -\(rank)..<\(rank)", "\(value)")
    }
    return normalized
  }
}
