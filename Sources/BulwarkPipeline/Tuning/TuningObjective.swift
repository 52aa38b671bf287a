/// What the tuner maximises, from the correct counts on the clean and adversarial sets.
public enum TuningObjective: Sendable, Equatable {
  /// The harmonic mean of clean and adversarial accuracy (the CS5260 report's measure).
  case harmonicMean
  /// Plain accuracy on the union of both sets.
  case accuracy
  /// `weight` × clean accuracy + (1 − `weight`) × adversarial accuracy.
  case weighted(Double)

  /// The names pipeline files use.
  static let names = ["harmonic-mean", "accuracy", "weighted"]

  /// The objective's name in pipeline files and reports.
  public var name: String {
    switch self {
    case .harmonicMean: "harmonic-mean"
    case .accuracy: "accuracy"
    case .weighted(let weight): "weighted(\(JSONValue.format(weight)))"
    }
  }

  /// The objective's value.
  /// - Parameters:
  ///   - clean: Correct and total clean images.
  ///   - adversarial: Correct and total adversarial images.
  /// - Returns: A value in [0, 1]; higher is better.
  public func value(clean: (correct: Int, total: Int), adversarial: (correct: Int, total: Int))
    -> Double
  {
    let a = clean.total == 0 ? 0 : Double(clean.correct) / Double(clean.total)
    let b = adversarial.total == 0 ? 0 : Double(adversarial.correct) / Double(adversarial.total)
    switch self {
    case .harmonicMean:
      return PipelineScore.harmonicMean(a, b)
    case .accuracy:
      let total = clean.total + adversarial.total
      return total == 0 ? 0 : Double(clean.correct + adversarial.correct) / Double(total)
    case .weighted(let weight):
      return weight * a + (1 - weight) * b
    }
  }
}
