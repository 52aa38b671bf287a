import Foundation

/// Mean cross-entropy of softmax probabilities against class labels (PyTorch
/// `CrossEntropyLoss` with the default mean reduction), through a stable log-sum-exp in Double.
public enum CrossEntropyLoss {
  /// The mean loss of `rows x classes` logits.
  /// - Parameters:
  ///   - logits: Row-major scores.
  ///   - labels: One class per row.
  ///   - classes: Values per row.
  /// - Returns: `mean(logsumexp(z) - z[label])`.
  /// - Precondition: `logits.count == labels.count * classes` and labels are in range.
  public static func loss(logits: [Float], labels: [Int], classes: Int) -> Double {
    precondition(logits.count == labels.count * classes, "one row of logits per label")
    var total = 0.0
    logits.withUnsafeBufferPointer { buffer in
      for (row, label) in labels.enumerated() {
        total += rowLoss(
          buffer.baseAddress.unsafelyUnwrapped + row * classes, classes: classes, label: label,
          scale: 0, gradient: nil)
      }
    }
    return labels.isEmpty ? 0 : total / Double(labels.count)
  }

  /// The loss of one row, writing `scale * (softmax - onehot)` to `gradient` when given.
  static func rowLoss(
    _ row: UnsafePointer<Float>, classes: Int, label: Int, scale: Double,
    gradient: UnsafeMutablePointer<Float>?
  ) -> Double {
    var largest = Double(row[0])
    for column in 0..<classes { largest = max(largest, Double(row[column])) }
    var sum = 0.0
    for column in 0..<classes { sum += exp(Double(row[column]) - largest) }
    let logSumExp = largest + log(sum)
    if let gradient {
      for column in 0..<classes {
        let probability = exp(Double(row[column]) - logSumExp)
        gradient[column] = Float((column == label ? probability - 1 : probability) * scale)
      }
    }
    return logSumExp - Double(row[label])
  }
}
