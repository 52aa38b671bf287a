/// What the tuner maximises, from the correct counts on the clean set and an adversarial count:
/// the first adversarial set's, or for `worstCaseHarmonicMean` the worst case over every set,
/// the pipeline-targeted (adaptive) ones included; or, for `stealing`, from what a student
/// stealing each configuration learns.
public enum TuningObjective: Sendable, Equatable {
  /// The harmonic mean of clean and adversarial accuracy (the CS5260 report's measure), on the
  /// first adversarial set.
  case harmonicMean
  /// The harmonic mean of clean accuracy and the worst-case adversarial accuracy over every
  /// set: an image counts only if it survives every set, those made against each configuration
  /// itself included.
  case worstCaseHarmonicMean
  /// Plain accuracy on the union of the clean and the first adversarial set.
  case accuracy
  /// `weight` × clean accuracy + (1 − `weight`) × adversarial accuracy (first set).
  case weighted(Double)
  /// 1 − the measure of a model-stealing student trained on each configuration's answers
  /// (`tune.stealing`, see `StealingSetup`): its accuracy, or its agreement with the
  /// configuration. `minCleanAccuracy` keeps the configurations that stay useful.
  case stealing(StealingSetup.Measure)

  /// The names pipeline files use.
  static let names = [
    "harmonic-mean", "worst-case-harmonic-mean", "accuracy", "weighted", "stealing",
  ]

  /// The objective's name in pipeline files and reports.
  public var name: String {
    switch self {
    case .harmonicMean: "harmonic-mean"
    case .worstCaseHarmonicMean: "worst-case-harmonic-mean"
    case .accuracy: "accuracy"
    case .weighted(let weight): "weighted(\(JSONValue.format(weight)))"
    case .stealing(let measure): "stealing(\(measure.rawValue))"
    }
  }

  /// Whether the objective ranks by the worst case over every adversarial set (and so needs
  /// the pipeline-targeted sets run against the leading configurations).
  public var usesWorstCase: Bool { self == .worstCaseHarmonicMean }

  /// The objective's value.
  /// - Parameters:
  ///   - clean: Correct and total clean images.
  ///   - adversarial: Correct and total adversarial images (the worst case, for
  ///     `worstCaseHarmonicMean`).
  ///   - stolen: For `stealing`, the student's measure as a count out of a total (nil: no
  ///     student was trained, value 0).
  /// - Returns: A value in [0, 1]; higher is better.
  public func value(
    clean: (correct: Int, total: Int), adversarial: (correct: Int, total: Int),
    stolen: (count: Int, total: Int)? = nil
  ) -> Double {
    let a = clean.total == 0 ? 0 : Double(clean.correct) / Double(clean.total)
    let b = adversarial.total == 0 ? 0 : Double(adversarial.correct) / Double(adversarial.total)
    switch self {
    case .harmonicMean, .worstCaseHarmonicMean:
      return PipelineScore.harmonicMean(a, b)
    case .accuracy:
      let total = clean.total + adversarial.total
      return total == 0 ? 0 : Double(clean.correct + adversarial.correct) / Double(total)
    case .weighted(let weight):
      return weight * a + (1 - weight) * b
    case .stealing:
      guard let stolen, stolen.total > 0 else { return 0 }
      return 1 - Double(stolen.count) / Double(stolen.total)
    }
  }
}
