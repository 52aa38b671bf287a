import Foundation

extension BoostedTrees {
  /// Raw (pre-softmax) scores, summed over iterations in order in Double, as LightGBM's
  /// `predict(raw_score=True)`.
  /// - Parameters:
  ///   - features: Row-major `rows x featureCount` values; NaN is a missing value.
  ///   - rows: Number of rows.
  /// - Returns: Row-major `rows x classes` scores.
  /// - Throws: `BoostingError.invalidInput` when the size does not match.
  public func rawScores(_ features: [Double], rows: Int) throws(BoostingError) -> [Double] {
    guard rows >= 0, features.count == rows * featureCount else {
      throw .invalidInput(
        field: "features", expected: "\(rows) x \(featureCount) = \(rows * featureCount) values",
        found: "\(features.count)")
    }
    if rows == 0 { return [] }
    var scores = [Double](repeating: 0, count: rows * classes)
    let k = classes
    let usable = (trees.count / k) * k
    features.withUnsafeBufferPointer { x in
      scores.withUnsafeMutableBufferPointer { out in
        // Trees in order: each row's score is summed in iteration order, as LightGBM's.
        for t in 0..<usable {
          trees[t].addOutputs(features: x, columns: featureCount, to: out, stride: k, offset: t % k)
        }
      }
    }
    return scores
  }

  /// Class probabilities: the softmax of ``rawScores(_:rows:)`` (max-subtracted, as LightGBM).
  /// - Parameters:
  ///   - features: Row-major `rows x featureCount` values; NaN is a missing value.
  ///   - rows: Number of rows.
  /// - Returns: Row-major `rows x classes` probabilities, each row summing to 1.
  /// - Throws: `BoostingError.invalidInput` when the size does not match.
  public func probabilities(_ features: [Double], rows: Int) throws(BoostingError) -> [Double] {
    var scores = try rawScores(features, rows: rows)
    for r in 0..<rows { BoostedTrees.softmax(&scores, offset: r * classes, count: classes) }
    return scores
  }

  /// LightGBM's `Common::Softmax` in place on `values[offset..<offset+count]`.
  static func softmax(_ values: inout [Double], offset: Int, count: Int) {
    var wmax = values[offset]
    for i in 1..<count { wmax = max(values[offset + i], wmax) }
    var sum = 0.0
    for i in 0..<count {
      values[offset + i] = exp(values[offset + i] - wmax)
      sum += values[offset + i]
    }
    for i in 0..<count { values[offset + i] /= sum }
  }
}

extension BoostedTrees {
  /// The share of rows whose most probable class is their label.
  /// - Parameters:
  ///   - features: `labels.count x featureCount` values, row-major.
  ///   - labels: The true class of each row.
  /// - Returns: The accuracy (0 for no row).
  /// - Throws: `BoostingError` for features that do not fit the trees.
  public func accuracy(features: [Double], labels: [Int]) throws(BoostingError) -> Double {
    guard !labels.isEmpty else { return 0 }
    let probabilities = try self.probabilities(features, rows: labels.count)
    var correct = 0
    for (row, label) in labels.enumerated() {
      let values = probabilities[row * classes..<(row + 1) * classes]
      if values.indices.max(by: { values[$0] < values[$1] }).map({ $0 - row * classes }) == label {
        correct += 1
      }
    }
    return Double(correct) / Double(labels.count)
  }
}
