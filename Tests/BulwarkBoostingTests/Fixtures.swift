import Foundation
import Testing

/// Test data: fixtures and seeded synthetic datasets.
enum Fixtures {
  static func text(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil))
    return try String(contentsOf: url, encoding: .utf8)
  }

  /// Softmax-like features: the label's column is raised, plus noise; deterministic.
  static func softmaxLike(rows: Int, classes: Int, seed: UInt64) -> ([Double], [Int]) {
    var state = seed
    func next() -> Double {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Double(state >> 11) * 0x1.0p-53
    }
    var x: [Double] = []
    var y: [Int] = []
    for _ in 0..<rows {
      let label = Int(next() * Double(classes))
      var row = (0..<classes).map { _ in next() }
      row[label] += 0.6
      let sum = row.reduce(0, +)
      x += row.map { $0 / sum }
      y.append(label)
    }
    return (x, y)
  }
}
