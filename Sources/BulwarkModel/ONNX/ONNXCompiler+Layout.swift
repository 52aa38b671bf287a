/// Concat, Split, Slice, Gather, Transpose and Pad on image values. Each becomes a gather step
/// whose per-image map comes from running the same operation, at load time, on a tensor that
/// holds each value's position (`positions(of:)`): the operators keep the one definition their
/// constant folding has, and the batch axis, 1 in that tensor, must come out whole.
extension ONNXCompiler {
  /// The largest `Pad` a side of an axis takes.
  static let maximumPad: Int64 = 1_024

  /// One image of each runtime input, as one tensor per input whose values are their positions
  /// in the inputs laid end to end, with a batch axis of 1 in front.
  static func positions(of shapes: [[Int]]) -> [ONNXTensor] {
    var offset: Int64 = 0
    return shapes.map { shape in
      let size = Int64(shape.reduce(1, *))
      defer { offset += size }
      return ONNXTensor(dims: [1] + shape, ints: Array(offset..<(offset + size)))
    }
  }

  /// Emits the gather step that computes `map` (a tensor of positions from `positions(of:)`,
  /// -1 for a border filled with `fill`) from the runtime `inputs`, defining `name`.
  mutating func emitGather(
    _ map: ONNXTensor, inputs: [(slot: Int, shape: [Int])], fill: Float, name: String,
    label: String
  ) throws {
    guard map.dims.first == 1 else {
      throw error(label, "the batch dimension left whole", "dims \(map.dims)")
    }
    let sizes = inputs.map { $0.shape.reduce(1, *) }
    var starts: [Int] = []
    var offset = 0
    for size in sizes {
      starts.append(offset)
      offset += size
    }
    // Each position's input is the last one starting at or before it. Written through buffers:
    // a map can hold millions of positions, and a file of a few kilobytes can ask for them.
    let positions = map.ints
    var sources = [Int32](repeating: -1, count: positions.count)
    var indices = [Int32](repeating: -1, count: positions.count)
    positions.withUnsafeBufferPointer { positions in
      sources.withUnsafeMutableBufferPointer { sources in
        indices.withUnsafeMutableBufferPointer { indices in
          for index in 0..<positions.count where positions[index] >= 0 {
            let position = Int(positions[index])
            var input = starts.count - 1
            while input > 0, starts[input] > position { input -= 1 }
            sources[index] = Int32(input)
            indices[index] = Int32(position - starts[input])
          }
        }
      }
    }
    try emit(
      .gather(sources: sources, indices: indices, fill: fill),
      inputs: zip(inputs, sizes).map { ($0.slot, $1) }, shape: Array(map.dims.dropFirst()),
      name: name)
  }

  /// A runtime or constant input as a tensor to fold: the constant itself, or its positions.
  /// Every input of `node` must be of one kind.
  private func operands(_ node: ONNXNode, count: Int, label: String) throws -> (
    tensors: [ONNXTensor], runtime: [(slot: Int, shape: [Int])]?
  ) {
    let values = (0..<count).map { input(node, $0) }
    let runtime = values.compactMap { value -> (slot: Int, shape: [Int])? in
      if case .runtime(let slot, let shape)? = value { return (slot, shape) }
      return nil
    }
    if runtime.isEmpty {
      return (try (0..<count).map { try requiredConstant(node, $0, label: label) }, nil)
    }
    try requireMappable(runtime.reduce(0) { $0 + $1.shape.reduce(1, *) }, label: label)
    guard runtime.count == count else {
      throw error(
        label, "\(node.opType) of image values alone", "image values mixed with constants")
    }
    return (Self.positions(of: runtime.map(\.shape)), runtime)
  }

  /// Defines `name` as `result`, folded from `operands`: a constant, or a gather step.
  private mutating func define(
    _ name: String, _ result: ONNXTensor?, from operands: [(slot: Int, shape: [Int])]?,
    fill: Float = 0, label: String
  ) throws {
    guard let result else {
      throw error(label, "inputs and attributes that fit together", "ones that do not")
    }
    guard let operands else {
      values[name] = .constant(result)
      return
    }
    try emitGather(result, inputs: operands, fill: fill, name: name, label: label)
  }

  /// Refuses an operation along the batch axis of image values.
  private func requireImageAxis(
    _ axis: Int, _ operands: [(slot: Int, shape: [Int])]?, label: String
  ) throws {
    guard operands != nil, axis == 0 else { return }
    throw error(label, "an axis within the images (not the batch axis 0)", "axis 0")
  }

  mutating func compileConcat(_ node: ONNXNode, label: String, name: String) throws {
    let present = node.inputs.filter { !$0.isEmpty }.count
    let (tensors, runtime) = try operands(node, count: present, label: label)
    let axis = try axis(
      try int(node, "axis", default: 0, label: label), rank: tensors[0].dims.count,
      label: label)
    try requireImageAxis(axis, runtime, label: label)
    try define(name, ONNXTensor.concatenating(tensors, axis: axis), from: runtime, label: label)
  }

  mutating func compileSlice(_ node: ONNXNode, label: String, name: String) throws {
    let (tensors, runtime) = try operands(node, count: 1, label: label)
    let rank = tensors[0].dims.count
    let starts =
      try intsFromInputOrAttribute(node, input: 1, attribute: "starts", since: 10, label: label)
      ?? []
    let ends =
      try intsFromInputOrAttribute(node, input: 2, attribute: "ends", since: 10, label: label)
      ?? []
    let axes =
      try intsFromInputOrAttribute(node, input: 3, attribute: "axes", since: 10, label: label)
      ?? (0..<Int64(starts.count)).map { $0 }
    let steps =
      opset >= 10
      ? try constantInput(node, 4, label: label)?.ints ?? starts.map { _ in 1 }
      : starts.map { _ in 1 }
    guard starts.count == ends.count, axes.count == starts.count, steps.count == starts.count
    else {
      throw error(label, "starts, ends, axes and steps of one length", "different lengths")
    }
    let normalized = try axes.map { try axis(Int($0), rank: rank, label: label) }
    // The positions tensor holds one image: a slice of the batch axis would pass there and
    // pick images at run time, so it must take the whole axis.
    for (position, axis) in normalized.enumerated() where axis == 0 && runtime != nil {
      guard starts[position] == 0, steps[position] == 1, ends[position] >= Int64(Int32.max)
      else {
        throw error(label, "a slice within the images (the batch axis 0 whole)", "axis 0 sliced")
      }
    }
    try define(
      name,
      tensors[0].slicing(starts: starts, ends: ends, axes: normalized, steps: steps),
      from: runtime, label: label)
  }

  /// Gather with constant indices. On image values, along an axis within the images; or, on
  /// a value whose batch a `Reshape` to one axis flattened at the export's batch of 1 (dynamo
  /// writes `as_strided` so), along that axis with indices of one image and an output whose
  /// first dimension is 1, which becomes the batch again.
  mutating func compileGather(_ node: ONNXNode, label: String, name: String) throws {
    let indices = try requiredConstant(node, 1, label: label)
    let rawAxis = try int(node, "axis", default: 0, label: label)
    if node.inputs.first.map(flattenedBatches.contains) == true {
      let x = try runtimeInput(node, 0, label: label)
      let size = x.shape.reduce(1, *)
      // Negative indices count from the end, as for any gather.
      let map = ONNXTensor(
        dims: indices.dims, ints: indices.ints.map { $0 < 0 ? $0 + Int64(size) : $0 })
      guard try axis(rawAxis, rank: 1, label: label) == 0, indices.dims.first == 1,
        map.ints.allSatisfy({ $0 >= 0 && $0 < size })
      else {
        throw error(
          label,
          "a gather from a batch flattened at the export's batch of 1: indices of shape "
            + "[1, …] within one image (0..<\(size))",
          "indices of shape \(indices.dims)")
      }
      try requireMappable(size, label: label)
      try emitGather(map, inputs: [x], fill: 0, name: name, label: label)
      return
    }
    let (tensors, runtime) = try operands(node, count: 1, label: label)
    let axis = try axis(rawAxis, rank: tensors[0].dims.count, label: label)
    try requireImageAxis(axis, runtime, label: label)
    try define(name, tensors[0].gathering(indices, axis: axis), from: runtime, label: label)
  }

  mutating func compileTranspose(_ node: ONNXNode, label: String, name: String) throws {
    let (tensors, runtime) = try operands(node, count: 1, label: label)
    let permutation =
      try ints(node, "perm", label: label) ?? Array(tensors[0].dims.indices.reversed())
    if runtime != nil, permutation.first != 0 {
      throw error(
        label, "a transpose within the images (the batch axis 0 first)", "perm \(permutation)")
    }
    try define(name, tensors[0].transposed(permutation), from: runtime, label: label)
  }

  /// Split into `node.outputs`: sizes from the `split` input (opset 13+) or attribute, else
  /// equal parts (`num_outputs` from opset 18, the last part smaller if need be).
  mutating func compileSplit(_ node: ONNXNode, label: String) throws {
    let (tensors, runtime) = try operands(node, count: 1, label: label)
    let tensor = tensors[0]
    let axis = try axis(
      try int(node, "axis", default: 0, label: label), rank: tensor.dims.count, label: label)
    try requireImageAxis(axis, runtime, label: label)
    let length = tensor.dims[axis]
    let parts = node.outputs.count
    var sizes =
      try intsFromInputOrAttribute(node, input: 1, attribute: "split", since: 13, label: label)?
      .map { Int($0) } ?? []
    if sizes.isEmpty {
      let each = (length + parts - 1) / max(parts, 1)
      sizes = (0..<parts).map { min(each, max(length - $0 * each, 0)) }
    }
    guard sizes.count == parts, sizes.allSatisfy({ $0 >= 0 && $0 <= length }),
      sizes.reduce(0, +) == length
    else {
      throw error(
        label, "split sizes adding up to the axis' \(length), one per output",
        "\(sizes) for \(parts) outputs")
    }
    var start = 0
    for (output, size) in zip(node.outputs, sizes) {
      defer { start += size }
      guard !output.isEmpty else { continue }
      let piece = tensor.slicing(
        starts: [Int64(start)], ends: [Int64(start + size)], axes: [axis], steps: [1])
      try define(output, piece, from: runtime, label: label)
    }
  }

  mutating func compilePad(_ node: ONNXNode, label: String, name: String) throws {
    let (tensors, runtime) = try operands(node, count: 1, label: label)
    let rank = tensors[0].dims.count
    let modeName = try string(node, "mode", default: "constant", label: label)
    guard let mode = ONNXTensor.PadMode(rawValue: modeName) else {
      throw error(label, "mode constant, reflect, edge or wrap", "'\(modeName)'")
    }
    guard
      let pads = try intsFromInputOrAttribute(
        node, input: 1, attribute: opset >= 2 ? "pads" : "paddings", since: 11, label: label)
    else { throw error(label, "pads", "none") }
    let fill: Float
    if opset >= 11 {
      let value = try constantInput(node, 2, label: label)
      guard value == nil || value?.count == 1 else {
        throw error(label, "one constant_value", "\(value?.count ?? 0) values")
      }
      fill = value?.floats.first ?? 0
    } else {
      fill = try float(node, "value", default: 0, label: label)
    }
    // From opset 18 the pads may name their axes; the others get none.
    let axes =
      try constantInput(node, 3, label: label)?.ints.map {
        try axis(Int($0), rank: rank, label: label)
      }
      ?? Array(0..<rank)
    guard pads.count == 2 * axes.count else {
      throw error(label, "\(2 * axes.count) pads (begins, then ends)", "\(pads.count)")
    }
    var begins = [Int](repeating: 0, count: rank)
    var ends = [Int](repeating: 0, count: rank)
    for (position, axis) in axes.enumerated() {
      begins[axis] = Int(pads[position])
      ends[axis] = Int(pads[axes.count + position])
    }
    // The padded tensor is built value by value: a file of a few bytes must not ask for
    // gigabytes, so each side is bounded (exported convolution pads are a few values) and the
    // size checked first.
    guard pads.allSatisfy({ $0.magnitude <= ONNXCompiler.maximumPad }) else {
      throw error(
        label, "pads of at most \(ONNXCompiler.maximumPad) values a side", "pads \(pads)")
    }
    let padded = try size(
      of: tensors[0].dims.indices.map { tensors[0].dims[$0] + begins[$0] + ends[$0] },
      label: label)
    try requireMappable(padded, label: label)
    if runtime != nil, begins[0] != 0 || ends[0] != 0 {
      throw error(label, "no padding of the batch axis 0", "pads \(pads)")
    }
    try define(
      name,
      // Positions mark the border -1 for the step to fill; a constant is filled here.
      tensors[0].padded(begins: begins, ends: ends, mode: mode, fill: runtime == nil ? fill : -1),
      from: runtime, fill: fill, label: label)
  }
}
