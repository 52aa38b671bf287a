import BulwarkDefenses

/// What a tuning run found: every configuration ranked, the best few re-scored on the full sets,
/// and the winner.
public struct TuningOutcome: Sendable {
  /// Every scored configuration, best first (see `Tuner.ranked(_:)`).
  public var ranked: [TuningResult]
  /// The configurations re-scored on the full sets, in sample rank order.
  public var rescored: [TuningResult]
  /// The best of `rescored` by the objective on the full sets (ties: the better sample rank).
  public var winner: TuningResult
  /// The winner's configuration.
  public var winnerCandidate: TuningCandidate
  /// The classifier work and configurations scored in this run.
  public var statistics: Tuner.Statistics
  /// Images in the sample's evaluation part and fit part (clean + adversarial).
  public var sampleImages: (evaluation: Int, fit: Int)
}
