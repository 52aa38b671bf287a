import Foundation

/// Mean cross-entropy of softmax probabilities against target probabilities rather than labels,
/// `mean(-Σ_c t_c log softmax(z)_c)` (PyTorch `CrossEntropyLoss` with probability targets): the
/// loss of knowledge distillation and of the probabilistic CopycatCNN, which learn a teacher's
/// returned probabilities.
public enum SoftTargetLoss {
  /// The mean loss of `rows x classes` logits against as many target values.
  /// - Parameters:
  ///   - logits: Row-major scores.
  ///   - targets: Row-major target probabilities (each row non-negative; rows need not sum to
  ///     exactly 1).
  ///   - classes: Values per row.
  /// - Returns: The mean over rows of `Σ_c t_c (logsumexp(z) - z_c)`.
  /// - Precondition: `logits.count == targets.count` and both are whole rows.
  public static func loss(logits: [Float], targets: [Float], classes: Int) -> Double {
    precondition(
      logits.count == targets.count && logits.count % classes == 0, "one target per logit")
    let rows = logits.count / classes
    var total = 0.0
    for row in 0..<rows {
      let start = row * classes
      let logSumExp = logSumExp(logits[start..<start + classes])
      for column in 0..<classes {
        total += Double(targets[start + column]) * (logSumExp - Double(logits[start + column]))
      }
    }
    return rows == 0 ? 0 : total / Double(rows)
  }

  /// The loss's gradient on a batch's logits, row by row: `scale (softmax(z) Σ t - t)`.
  /// - Parameters:
  ///   - targets: The batch's target rows, `images x classes` values.
  ///   - classes: Values per row.
  ///   - scale: The factor of every row (1 / images for the mean).
  /// - Returns: A row gradient for `Network`'s backward pass.
  static func rowGradient(targets: [Float], classes: Int, scale: Double) -> LogitRowGradient {
    { image, logits, gradient in
      let logSumExp = logSumExp(logits[...])
      let start = image * classes
      let mass = targets[start..<start + classes].reduce(0.0) { $0 + Double($1) }
      for column in 0..<classes {
        let probability = exp(Double(logits[column]) - logSumExp)
        gradient[column] = Float(scale * (probability * mass - Double(targets[start + column])))
      }
    }
  }

  /// log Σ exp(z), stably, in Double.
  private static func logSumExp(_ row: some Collection<Float>) -> Double {
    let largest = Double(row.max() ?? 0)
    return largest + log(row.reduce(0.0) { $0 + exp(Double($1) - largest) })
  }
}
