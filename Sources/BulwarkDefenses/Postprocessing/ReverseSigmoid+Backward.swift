import Foundation

extension ReverseSigmoid {
  /// The true gradient of the reverse sigmoid (it is differentiable almost everywhere), so
  /// that an adaptive attacker sees the defense as it is rather than through BPDA.
  ///
  /// With q_j = clip(p_j - r(p_j), 0, 1), S = Σ q and out_j = q_j / S:
  /// ∂L/∂q_j = (g_j - Σ_k g_k out_k) / S, and ∂q_j/∂p_j = 1 - r'(p_j) where q_j is inside (0, 1)
  /// (0 where it is clipped), with r'(p) = beta gamma s (1 - s) / (p (1 - p)), s the sigmoid,
  /// and r' = 0 where p is clipped to [1e-9, 1 - 1e-9]. An abstained row (S = 0) gets 0.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the output rows.
  ///   - input: The rows the defense was applied to.
  /// - Returns: The gradient with respect to `input`.
  public func backward(gradient: [Float], input: Probabilities) -> [Float] {
    precondition(gradient.count == input.values.count, "one gradient value per probability")
    let columns = input.columns
    var result = [Float](repeating: 0, count: gradient.count)
    var perturbed = [Double](repeating: 0, count: columns)
    var slope = [Double](repeating: 0, count: columns)
    for row in 0..<input.rows {
      let start = row * columns
      var sum = 0.0
      for column in 0..<columns {
        let value = input.values[start + column]
        let clipped = min(max(value, Self.lowerClip), Self.upperClip)
        let c = Double(clipped)
        let s = 1 / (1 + exp(-gamma * log(c / (1 - c))))
        let q = Double(value) - beta * (s - 0.5)
        let inside = clipped == value && c < 1
        let derivative = inside ? beta * gamma * s * (1 - s) / (c * (1 - c)) : 0
        perturbed[column] = min(max(q, 0), 1)
        slope[column] = q > 0 && q < 1 ? 1 - derivative : 0
        sum += perturbed[column]
      }
      guard sum > 0 else { continue }
      var weighted = 0.0
      for column in 0..<columns {
        weighted += Double(gradient[start + column]) * perturbed[column] / sum
      }
      for column in 0..<columns {
        let upstream = (Double(gradient[start + column]) - weighted) / sum
        result[start + column] = Float(upstream * slope[column])
      }
    }
    return result
  }
}
