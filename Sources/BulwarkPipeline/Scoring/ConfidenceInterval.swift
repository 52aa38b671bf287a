import BulwarkCore
import BulwarkData
import Foundation

/// A two-sided confidence interval for a share (an accuracy) or a statistic of shares (their
/// harmonic mean), as every accuracy Bulwark reports carries one.
public struct ConfidenceInterval: Codable, Equatable, Sendable, CustomStringConvertible {
  /// The lower bound.
  public var lower: Double
  /// The upper bound.
  public var upper: Double
  /// The confidence level (0.95).
  public var level: Double

  /// Creates an interval.
  /// - Parameters:
  ///   - lower: The lower bound.
  ///   - upper: The upper bound.
  ///   - level: The confidence level.
  public init(lower: Double, upper: Double, level: Double) {
    self.lower = lower
    self.upper = upper
    self.level = level
  }

  /// `[0.7282, 0.7454]`.
  public var description: String {
    String(format: "[%.4f, %.4f]", lower, upper)
  }

  /// Whether the two intervals share a point.
  /// - Parameter other: Another interval.
  /// - Returns: True when they overlap.
  public func overlaps(_ other: ConfidenceInterval) -> Bool {
    lower <= other.upper && other.lower <= upper
  }

  /// The standard normal quantile of a 95% two-sided interval.
  static let z95 = 1.959963984540054

  /// The Wilson score interval of a binomial share (Wilson 1927), 95%: it stays inside [0, 1]
  /// and keeps its coverage for small counts and shares near 0 or 1, where the normal
  /// approximation does not. `[0, 1]` for no trials.
  /// - Parameters:
  ///   - successes: The successes (correct images).
  ///   - trials: The trials (images), at least `successes`.
  /// - Returns: The 95% interval.
  public static func wilson(successes: Int, trials: Int) -> ConfidenceInterval {
    guard trials > 0 else { return ConfidenceInterval(lower: 0, upper: 1, level: 0.95) }
    let n = Double(trials)
    let share = Double(successes) / n
    let z2 = z95 * z95
    let centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    let half = z95 / (1 + z2 / n) * (share * (1 - share) / n + z2 / (4 * n * n)).squareRoot()
    return ConfidenceInterval(
      lower: max(0, centre - half), upper: min(1, centre + half), level: 0.95)
  }

  /// A seeded percentile bootstrap of the harmonic mean of two accuracies (Efron 1979): both
  /// sets resampled with replacement, independently, `resamples` times; the 2.5th and 97.5th
  /// percentiles of the harmonic means. The same seed gives the same interval.
  /// - Parameters:
  ///   - clean: Whether each clean image was classified correctly.
  ///   - adversarial: Whether each adversarial image was (for several sets, whether it
  ///     survived every set).
  ///   - resamples: Bootstrap resamples, at least 1 (default 1,000).
  ///   - seed: The resampling seed.
  /// - Returns: The 95% interval.
  public static func bootstrapHarmonicMean(
    clean: [Bool], adversarial: [Bool], resamples: Int = 1_000, seed: UInt64 = 0
  ) -> ConfidenceInterval {
    bootstrap(clean: clean, adversarial: adversarial, resamples: resamples, seed: seed) {
      clean, adversarial in
      PipelineScore.harmonicMean(
        clean.total == 0 ? 0 : Double(clean.correct) / Double(clean.total),
        adversarial.total == 0 ? 0 : Double(adversarial.correct) / Double(adversarial.total))
    }
  }

  /// A seeded percentile bootstrap of any statistic of a clean and an adversarial count (Efron
  /// 1979): both sets resampled with replacement, independently, `resamples` times; the 2.5th
  /// and 97.5th percentiles of the statistic. The same seed gives the same interval.
  /// - Parameters:
  ///   - clean: Whether each clean image was classified correctly.
  ///   - adversarial: Whether each adversarial image was.
  ///   - resamples: Bootstrap resamples, at least 1 (default 1,000).
  ///   - seed: The resampling seed.
  ///   - statistic: The statistic of a resample's correct and total counts.
  /// - Returns: The 95% interval.
  public static func bootstrap(
    clean: [Bool], adversarial: [Bool], resamples: Int = 1_000, seed: UInt64 = 0,
    statistic: (
      _ clean: (correct: Int, total: Int), _ adversarial: (correct: Int, total: Int)
    ) -> Double
  ) -> ConfidenceInterval {
    precondition(resamples >= 1, "at least one resample")
    var generator = SeededGenerator(seed: seed)
    func resampledCount(_ outcomes: [Bool]) -> (correct: Int, total: Int) {
      var correct = 0
      for _ in outcomes.indices where outcomes[generator.uniformInt(below: outcomes.count)] {
        correct += 1
      }
      return (correct, outcomes.count)
    }
    var values = (0..<resamples).map { _ in
      let cleanCount = resampledCount(clean)
      return statistic(cleanCount, resampledCount(adversarial))
    }
    values.sort()
    func percentile(_ share: Double) -> Double {
      values[min(max(Int((share * Double(resamples - 1)).rounded()), 0), resamples - 1)]
    }
    return ConfidenceInterval(lower: percentile(0.025), upper: percentile(0.975), level: 0.95)
  }
}
