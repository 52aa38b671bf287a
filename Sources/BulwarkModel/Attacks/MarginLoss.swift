import Foundation

/// The losses gradient attacks maximise, computed per image from its logits, with their
/// gradients with respect to the logits (for `Classifier.inputGradient(_:logitGradient:)`).
///
/// Croce and Hein (2020): cross-entropy; the difference of logits ratio
/// `DLR = -(z_y - max_{i≠y} z_i) / (z_π1 - z_π3 + 1e-12)` (π sorting the logits in descending
/// order; at least 3 classes), invariant to shifting and scaling the logits; and its targeted
/// form `-(z_y - z_t) / (z_π1 - (z_π3 + z_π4) / 2 + 1e-12)` (at least 4 classes). Targeted
/// cross-entropy is `-CE(z, t)`. Ties in the sort go to the lower class index.
public enum MarginLoss: String, Sendable, CaseIterable, Codable {
  /// Cross-entropy of the true class (targeted: minus the cross-entropy of the target).
  case crossEntropy = "ce"
  /// The difference of logits ratio (targeted: its targeted form).
  case dlr

  /// The fewest classes the loss is defined for.
  /// - Parameter targeted: Whether the loss is targeted.
  /// - Returns: 2 for cross-entropy, 3 for DLR, 4 for targeted DLR.
  public func minimumClasses(targeted: Bool) -> Int {
    switch self {
    case .crossEntropy: 2
    case .dlr: targeted ? 4 : 3
    }
  }

  /// The loss of one row of logits and its gradient with respect to them.
  /// - Parameters:
  ///   - logits: The row, at least `minimumClasses` values.
  ///   - label: The true class.
  ///   - target: The target class of a targeted attack, or nil.
  ///   - gradient: Receives `logits.count` values.
  /// - Returns: The loss (higher is better for the attacker).
  public func value(
    _ logits: ArraySlice<Float>, label: Int, target: Int?, gradient: inout [Float]
  ) -> Double {
    let z = logits.map(Double.init)
    let classes = z.count
    var g = [Double](repeating: 0, count: classes)
    let loss: Double
    switch self {
    case .crossEntropy:
      let largest = z.max() ?? 0
      let sum = z.reduce(0) { $0 + exp($1 - largest) }
      let logSumExp = largest + log(sum)
      let measured = target ?? label
      let sign: Double = target == nil ? 1 : -1
      for index in 0..<classes {
        g[index] = sign * (exp(z[index] - logSumExp) - (index == measured ? 1 : 0))
      }
      loss = sign * (logSumExp - z[measured])
    case .dlr:
      let order = (0..<classes).sorted { z[$0] > z[$1] || (z[$0] == z[$1] && $0 < $1) }
      let numerator: Double
      var denominator: Double
      if let target {
        numerator = z[label] - z[target]
        denominator = z[order[0]] - (z[order[2]] + z[order[3]]) / 2 + 1e-12
        g[label] -= 1 / denominator
        g[target] += 1 / denominator
        let scale = numerator / (denominator * denominator)
        g[order[0]] += scale
        g[order[2]] -= scale / 2
        g[order[3]] -= scale / 2
      } else {
        let other = order[0] == label ? order[1] : order[0]
        numerator = z[label] - z[other]
        denominator = z[order[0]] - z[order[2]] + 1e-12
        g[label] -= 1 / denominator
        g[other] += 1 / denominator
        let scale = numerator / (denominator * denominator)
        g[order[0]] += scale
        g[order[2]] -= scale
      }
      loss = -numerator / denominator
    }
    gradient = g.map(Float.init)
    return loss
  }
}
