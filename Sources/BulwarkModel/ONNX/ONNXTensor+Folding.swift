/// Shape computations on constant tensors, evaluated once at load time: what PyTorch's
/// exporters emit to compute reshape targets (Gather, Slice, Concat, Transpose, …).
extension ONNXTensor {
  /// The elements at flat `indices` of this tensor, as a tensor of `dims`.
  func picking(_ indices: [Int], dims: [Int]) -> ONNXTensor {
    switch values {
    case .floats(let values): ONNXTensor(dims: dims, floats: indices.map { values[$0] })
    case .ints(let values): ONNXTensor(dims: dims, ints: indices.map { values[$0] })
    }
  }

  /// Row-major strides of `dims`.
  static func strides(_ dims: [Int]) -> [Int] {
    var result = [Int](repeating: 1, count: dims.count)
    var step = 1
    for axis in dims.indices.reversed() {
      result[axis] = step
      step *= dims[axis]
    }
    return result
  }

  /// The flat indices of the cartesian product of per-axis index lists, row-major.
  static func product(_ perAxis: [[Int]], strides: [Int]) -> [Int] {
    var result = [0]
    for (axis, list) in perAxis.enumerated() {
      var next: [Int] = []
      next.reserveCapacity(result.count * list.count)
      for base in result {
        for index in list { next.append(base + index * strides[axis]) }
      }
      result = next
    }
    return result
  }

  /// ONNX `Gather` along `axis` with `indices` (negative indices count from the end).
  func gathering(_ indices: ONNXTensor, axis: Int) -> ONNXTensor? {
    guard axis >= 0, axis < dims.count else { return nil }
    var list: [Int] = []
    for raw in indices.ints {
      let index = raw < 0 ? Int(raw) + dims[axis] : Int(raw)
      guard index >= 0, index < dims[axis] else { return nil }
      list.append(index)
    }
    var perAxis = dims.map { Array(0..<$0) }
    perAxis[axis] = list
    let flat = ONNXTensor.product(perAxis, strides: ONNXTensor.strides(dims))
    let shape = Array(dims[..<axis]) + indices.dims + Array(dims[(axis + 1)...])
    return picking(flat, dims: shape)
  }

  /// ONNX `Slice` on the given axes with steps, clamping as the operator does.
  func slicing(starts: [Int64], ends: [Int64], axes: [Int], steps: [Int64]) -> ONNXTensor? {
    var perAxis = dims.map { Array(0..<$0) }
    var shape = dims
    for (position, axis) in axes.enumerated() {
      guard axis >= 0, axis < dims.count, steps[position] != 0 else { return nil }
      let size = Int64(dims[axis])
      let step = steps[position]
      func clamp(_ value: Int64, _ low: Int64, _ high: Int64) -> Int64 {
        let adjusted = value < 0 ? value + size : value
        return min(max(adjusted, low), high)
      }
      var list: [Int] = []
      if step > 0 {
        var index = clamp(starts[position], 0, size)
        let end = clamp(ends[position], 0, size)
        while index < end {
          list.append(Int(index))
          let (next, overflow) = index.addingReportingOverflow(step)
          if overflow { break }
          index = next
        }
      } else {
        var index = clamp(starts[position], 0, size - 1)
        let end = clamp(ends[position], -1, size - 1)
        while index > end {
          list.append(Int(index))
          let (next, overflow) = index.addingReportingOverflow(step)
          if overflow { break }
          index = next
        }
      }
      perAxis[axis] = list
      shape[axis] = list.count
    }
    return picking(ONNXTensor.product(perAxis, strides: ONNXTensor.strides(dims)), dims: shape)
  }

  /// How `Pad` fills the new border.
  enum PadMode: String {
    /// With a constant.
    case constant
    /// With the values mirrored at the edge, the edge itself not repeated.
    case reflect
    /// With the edge value repeated.
    case edge
    /// With the values of the other side, as if the axis wrapped round.
    case wrap
  }

  /// ONNX `Pad`: `begins[axis]` values before and `ends[axis]` after each axis (negative ones
  /// crop), the border filled as `mode` says, constants with `fill`.
  func padded(begins: [Int], ends: [Int], mode: PadMode, fill: Float) -> ONNXTensor? {
    guard begins.count == dims.count, ends.count == dims.count else { return nil }
    var perAxis: [[Int]] = []
    for axis in dims.indices {
      let size = dims[axis]
      let length = size + begins[axis] + ends[axis]
      guard length >= 0, size > 0 || length == 0 else { return nil }
      var list: [Int] = []
      for position in 0..<length {
        var source = position - begins[axis]
        if source < 0 || source >= size {
          switch mode {
          case .constant: source = -1
          case .edge: source = min(max(source, 0), size - 1)
          case .wrap: source = ((source % size) + size) % size
          case .reflect:
            guard size > 1 else {
              source = 0
              break
            }
            let period = 2 * (size - 1)
            var folded = ((source % period) + period) % period
            if folded >= size { folded = period - folded }
            source = folded
          }
        }
        list.append(source)
      }
      perAxis.append(list)
    }
    // The flat source of every position, -1 where any axis is border, written through buffers
    // (a padded map can hold millions of positions).
    let strides = ONNXTensor.strides(dims)
    var flat = [0]
    for (axis, list) in perAxis.enumerated() {
      let stride = strides[axis]
      flat = flat.withUnsafeBufferPointer { bases in
        list.withUnsafeBufferPointer { list in
          [Int](unsafeUninitializedCapacity: bases.count * list.count) { next, initialized in
            for row in 0..<bases.count {
              let (base, start) = (bases[row], row * list.count)
              for column in 0..<list.count {
                let index = list[column]
                next[start + column] = base < 0 || index < 0 ? -1 : base + index * stride
              }
            }
            initialized = bases.count * list.count
          }
        }
      }
    }
    let shape = perAxis.map(\.count)
    switch values {
    case .floats(let values):
      return ONNXTensor(dims: shape, floats: Self.gathering(values, at: flat, fill: fill))
    case .ints(let values):
      return ONNXTensor(dims: shape, ints: Self.gathering(values, at: flat, fill: Int64(fill)))
    }
  }

  /// `values` at each of `positions`, `fill` where a position is -1.
  private static func gathering<Value>(_ values: [Value], at positions: [Int], fill: Value)
    -> [Value]
  {
    values.withUnsafeBufferPointer { values in
      positions.withUnsafeBufferPointer { positions in
        [Value](unsafeUninitializedCapacity: positions.count) { gathered, initialized in
          for index in 0..<positions.count {
            let position = positions[index]
            (gathered.baseAddress.unsafelyUnwrapped + index).initialize(
              to: position < 0 ? fill : values[position])
          }
          initialized = positions.count
        }
      }
    }
  }

  /// ONNX `Transpose` by `permutation` (default: reversed axes).
  func transposed(_ permutation: [Int]) -> ONNXTensor? {
    guard permutation.sorted() == Array(dims.indices) else { return nil }
    let strides = ONNXTensor.strides(dims)
    let shape = permutation.map { dims[$0] }
    let flat = ONNXTensor.product(
      shape.map { Array(0..<$0) }, strides: permutation.map { strides[$0] })
    return picking(flat, dims: shape)
  }

  /// ONNX `Concat` of tensors of one rank along `axis`; floats if any operand is.
  static func concatenating(_ tensors: [ONNXTensor], axis: Int) -> ONNXTensor? {
    guard let first = tensors.first, axis >= 0, axis < first.dims.count else { return nil }
    for tensor in tensors {
      guard tensor.dims.count == first.dims.count else { return nil }
      for dim in tensor.dims.indices where dim != axis {
        guard tensor.dims[dim] == first.dims[dim] else { return nil }
      }
    }
    let outer = first.dims[..<axis].reduce(1, *)
    var shape = first.dims
    shape[axis] = tensors.reduce(0) { $0 + $1.dims[axis] }
    let useFloats = tensors.contains { $0.isFloat }
    var floats: [Float] = []
    var ints: [Int64] = []
    for block in 0..<outer {
      for tensor in tensors {
        let size = tensor.dims[axis...].reduce(1, *)
        let range = (block * size)..<((block + 1) * size)
        if useFloats {
          floats += tensor.floats[range]
        } else {
          ints += tensor.ints[range]
        }
      }
    }
    return useFloats ? ONNXTensor(dims: shape, floats: floats) : ONNXTensor(dims: shape, ints: ints)
  }
}
