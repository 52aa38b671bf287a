import BulwarkCore
import Foundation

extension Probabilities {
  /// Seeded softmax-like rows for benchmarks: each row the softmax of 8 u for uniform u in
  /// [0, 1), confident enough that postprocessors do real work.
  /// - Parameters:
  ///   - rows: The row count.
  ///   - columns: The column count.
  ///   - seed: The seed.
  /// - Returns: The table.
  package static func softmaxLike(rows: Int, columns: Int, seed: UInt64) -> Probabilities {
    var generator = SeededGenerator(seed: seed)
    let logits = (0..<rows * columns).map { _ in generator.unitFloat() }
    var values: [Float] = []
    values.reserveCapacity(rows * columns)
    for row in 0..<rows {
      let slice = logits[row * columns..<(row + 1) * columns].map { Foundation.exp($0 * 8) }
      let total = slice.reduce(0, +)
      values += slice.map { $0 / total }
    }
    return Probabilities(rows: rows, columns: columns, values: values)
  }
}
