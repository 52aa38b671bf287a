/// NumPy broadcasting of two operands to one per-image output shape, as index maps: for each
/// output element of an image, the element of each operand it reads. A nil map means the
/// operand has the output's shape (element i reads element i).
struct ONNXBroadcast: Sendable {
  var outputShape: [Int]
  var leftMap: [Int]?
  var rightMap: [Int]?

  /// The broadcast shape of two shapes, aligned at their last dimensions, or nil.
  static func shape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for axis in 0..<rank {
      let x = axis - (rank - a.count) >= 0 ? a[axis - (rank - a.count)] : 1
      let y = axis - (rank - b.count) >= 0 ? b[axis - (rank - b.count)] : 1
      guard x == y || x == 1 || y == 1 else { return nil }
      result[axis] = x == 1 ? y : x
    }
    return result
  }

  /// For each element of `output`, the index into an operand of `shape` broadcast to it.
  static func map(_ shape: [Int], to output: [Int]) -> [Int]? {
    if shape == output { return nil }
    let count = output.reduce(1, *)
    let offset = output.count - shape.count
    var strides = [Int](repeating: 0, count: output.count)
    var step = 1
    for axis in (0..<shape.count).reversed() {
      strides[axis + offset] = shape[axis] == 1 ? 0 : step
      step *= shape[axis]
    }
    var result = [Int](repeating: 0, count: count)
    var index = [Int](repeating: 0, count: output.count)
    for element in 0..<count {
      var source = 0
      for axis in 0..<output.count { source += index[axis] * strides[axis] }
      result[element] = source
      var axis = output.count - 1
      while axis >= 0 {
        index[axis] += 1
        if index[axis] < output[axis] { break }
        index[axis] = 0
        axis -= 1
      }
    }
    return result
  }
}
