import BulwarkData
import Foundation

extension Network {
  /// Checks an NHWC input: the value count and finiteness.
  func checkInput(_ pixels: [Float], count: Int) throws {
    let shape = architecture.input
    guard count >= 0, pixels.count == count * shape.valueCount else {
      throw ModelError(
        field: "input",
        expected: "\(count) images of \(shape) (\(count * shape.valueCount) values)",
        found: "\(pixels.count) values")
    }
    if let index = pixels.firstIndex(where: { !$0.isFinite }) {
      let size = shape.valueCount
      throw ModelError(
        field: "input", expected: "finite pixel values",
        found: "\(pixels[index]) in image \(index / size) at value \(index % size)")
    }
  }

  /// The raw class scores of `count` images.
  /// - Parameters:
  ///   - pixels: NHWC values, `count` images of the architecture's input shape.
  ///   - count: The number of images.
  /// - Returns: `count x classes` logits, row-major.
  /// - Throws: ``ModelError`` for a wrong value count or a NaN or infinite value.
  /// - Complexity: O(count x FLOP per image), spread over ``options`` threads.
  public func logits(_ pixels: [Float], count: Int) throws -> [Float] {
    try checkInput(pixels, count: count)
    return pass(
      pixels: pixels, count: count, head: nil, wantsInputGradient: false,
      wantsParameterGradients: false
    ).logits
  }

  /// The raw class scores of a batch.
  /// - Parameter batch: Images of the architecture's input shape.
  /// - Returns: `batch.count x classes` logits, row-major.
  /// - Throws: ``ModelError`` for a wrong image shape or a NaN or infinite value.
  public func logits(_ batch: ImageBatch) throws -> [Float] {
    try checkShape(batch)
    return try logits(batch.pixels, count: batch.count)
  }

  /// Row-wise softmax of `rows x classes` scores, computed stably in Double.
  /// - Parameters:
  ///   - logits: Row-major scores.
  ///   - classes: Values per row.
  /// - Returns: Row-major probabilities.
  public static func softmax(_ logits: [Float], classes: Int) -> [Float] {
    var result = [Float](repeating: 0, count: logits.count)
    var start = 0
    while start + classes <= logits.count, classes > 0 {
      let row = logits[start..<(start + classes)]
      let largest = Double(row.max() ?? 0)
      var sum = 0.0
      for value in row { sum += exp(Double(value) - largest) }
      for (column, value) in row.enumerated() {
        result[start + column] = Float(exp(Double(value) - largest) / sum)
      }
      start += classes
    }
    return result
  }

  /// The index of the largest value of each row (the first one on ties).
  /// - Parameters:
  ///   - logits: Row-major scores.
  ///   - classes: Values per row.
  /// - Returns: One index per row.
  public static func argmax(_ logits: [Float], classes: Int) -> [Int] {
    guard classes > 0 else { return [] }
    return stride(from: 0, to: logits.count - classes + 1, by: classes).map { start in
      var best = 0
      for column in 1..<classes where logits[start + column] > logits[start + best] {
        best = column
      }
      return best
    }
  }
}
