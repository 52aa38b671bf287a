/// What a tuning run is doing when it reports progress.
public enum TuningPhase: String, Sendable, CaseIterable {
  /// Scoring the search space's grid on the sample.
  case grid
  /// Scoring the finer grid around the best configuration.
  case refine
  /// Attacking the leading configurations with the sets made against each of them (the
  /// worst-case objective's re-ranking).
  case rerank
  /// Scoring the best configurations on the full sets.
  case full
}
