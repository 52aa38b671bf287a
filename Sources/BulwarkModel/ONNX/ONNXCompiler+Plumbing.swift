/// `Constant` and the shape plumbing the exporters emit to compute reshape targets (Shape,
/// Cast, Squeeze and Unsqueeze), evaluated at load time; Concat, Gather, Slice and Transpose
/// are in `ONNXCompiler+Layout`, for constants and image values alike.
extension ONNXCompiler {
  func constantValue(_ node: ONNXNode, label: String) throws -> ONNXTensor {
    guard let attribute = node.attributes.first else {
      throw error(label, "a value attribute", "none")
    }
    switch (attribute.name, attribute.value) {
    case ("value", .tensor(let tensor)): return tensor
    case ("value_float", .float(let value)): return ONNXTensor(dims: [], floats: [value])
    case ("value_floats", .floats(let values)):
      return ONNXTensor(dims: [values.count], floats: values)
    case ("value_int", .int(let value)): return ONNXTensor(dims: [], ints: [value])
    case ("value_ints", .ints(let values)): return ONNXTensor(dims: [values.count], ints: values)
    default:
      throw error(
        label, "value, value_float(s) or value_int(s)", "attribute '\(attribute.name)'")
    }
  }

  /// A value's full shape with the batch as ``batchMarker`` for runtime values.
  func fullShape(_ value: Value) -> [Int64] {
    switch value {
    case .constant(let tensor): tensor.dims.map { Int64($0) }
    case .runtime(_, let shape): [ONNXCompiler.batchMarker] + shape.map { Int64($0) }
    }
  }

  mutating func compilePlumbing(_ node: ONNXNode, label: String, name: String) throws {
    guard let first = input(node, 0) else { throw error(label, "input 0", "none") }
    let op = node.opType
    if op == "Shape" {
      var dims = fullShape(first)
      let rank = dims.count
      func clamp(_ value: Int) -> Int { min(max(value < 0 ? value + rank : value, 0), rank) }
      let start = clamp(try int(node, "start", default: 0, label: label))
      let end = clamp(try int(node, "end", default: rank, label: label))
      dims = start < end ? Array(dims[start..<end]) : []
      values[name] = .constant(ONNXTensor(dims: [dims.count], ints: dims))
      return
    }
    if case .runtime(let slot, let shape) = first {
      // On image values, only the plumbing that renames dimensions is allowed.
      switch op {
      case "Cast":
        guard try int(node, "to", default: 1, label: label) == 1 else {
          throw error(label, "a Cast of image values to FLOAT", "another type")
        }
        values[name] = first
      case "Unsqueeze", "Squeeze":
        let full = [1] + shape
        let dims = try squeezing(node, dims: full, label: label)
        guard dims.first == 1, dims.count >= 1 else {
          throw error(label, "the batch dimension to stay first", "\(op) on axis 0")
        }
        values[name] = .runtime(slot: slot, shape: Array(dims.dropFirst()))
      default:
        throw error(
          label, "\(op) only on constants (shape computations)", "\(op) on image values")
      }
      return
    }
    guard case .constant(let tensor) = first else { return }
    let result: ONNXTensor?
    switch op {
    case "Cast":
      let to = try int(node, "to", default: 1, label: label)
      guard let type = ONNXTensor.DataType(rawValue: to) else {
        throw error(label, "a supported target type", "type \(to)")
      }
      result =
        type.isFloatingPoint
        ? ONNXTensor(dims: tensor.dims, floats: tensor.floats)
        : ONNXTensor(dims: tensor.dims, ints: tensor.ints)
    case "Unsqueeze", "Squeeze":
      var reshaped = tensor
      reshaped.dims = try squeezing(node, dims: tensor.dims, label: label)
      result = reshaped
    default:
      result = nil
    }
    guard let result else {
      throw error(label, "\(op) inputs and attributes that fit together", "ones that do not")
    }
    values[name] = .constant(result)
  }

  /// The dims after `Unsqueeze` or `Squeeze` (axes from an attribute before opset 13, an
  /// input since).
  func squeezing(_ node: ONNXNode, dims: [Int], label: String) throws -> [Int] {
    let axes = try intsFromInputOrAttribute(
      node, input: 1, attribute: "axes", since: 13, label: label)
    if node.opType == "Squeeze" {
      let rank = dims.count
      let removed = Set(
        try (axes ?? dims.indices.filter { dims[$0] == 1 }.map { Int64($0) }).map {
          try axis(Int($0), rank: rank, label: label)
        })
      guard removed.allSatisfy({ dims[$0] == 1 }) else {
        throw error(label, "squeezed axes of size 1", "dims \(dims), axes \(removed.sorted())")
      }
      return dims.indices.filter { !removed.contains($0) }.map { dims[$0] }
    }
    guard let axes else { throw error(label, "axes", "none") }
    let rank = dims.count + axes.count
    let inserted = Set(try axes.map { try axis(Int($0), rank: rank, label: label) })
    guard inserted.count == axes.count else {
      throw error(label, "distinct axes", "\(axes)")
    }
    var result: [Int] = []
    var source = dims.makeIterator()
    for position in 0..<rank {
      if inserted.contains(position) {
        result.append(1)
      } else if let dim = source.next() {
        result.append(dim)
      }
    }
    return result
  }
}
