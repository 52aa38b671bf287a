import Testing

@testable import BulwarkPipeline

@Suite struct ConfidenceIntervalTests {
  /// Values of the Wilson score interval at 95% (as statsmodels' `proportion_confint(…,
  /// method="wilson")` gives them).
  @Test(arguments: [
    (81, 263, 0.255_288_519_878, 0.366_209_576_983),
    (0, 10, 0, 0.277_532_799_863),
    (10, 10, 0.722_467_200_137, 1),
    (7369, 10000, 0.728_180_168_679, 0.745_437_892_893),
  ])
  func wilsonMatchesKnownValues(successes: Int, trials: Int, lower: Double, upper: Double) {
    let interval = ConfidenceInterval.wilson(successes: successes, trials: trials)
    #expect(abs(interval.lower - lower) < 1e-9)
    #expect(abs(interval.upper - upper) < 1e-9)
    #expect(interval.level == 0.95)
  }

  @Test func wilsonOfNoTrialsIsEverything() {
    #expect(
      ConfidenceInterval.wilson(successes: 0, trials: 0) == .init(lower: 0, upper: 1, level: 0.95))
  }

  @Test func bootstrapIsSeededAndBracketsTheHarmonicMean() {
    let clean = (0..<400).map { $0 % 4 != 0 }  // 0.75
    let adversarial = (0..<300).map { $0 % 3 == 0 }  // 1/3
    let first = ConfidenceInterval.bootstrapHarmonicMean(
      clean: clean, adversarial: adversarial, resamples: 400, seed: 3)
    let again = ConfidenceInterval.bootstrapHarmonicMean(
      clean: clean, adversarial: adversarial, resamples: 400, seed: 3)
    #expect(first == again)
    let estimate = PipelineScore.harmonicMean(0.75, 1.0 / 3)
    #expect(first.lower < estimate && estimate < first.upper)
    // About ±0.05 here: narrower than the accuracies' own spans, wider than nothing.
    #expect(first.upper - first.lower > 0.03 && first.upper - first.lower < 0.12)
    let other = ConfidenceInterval.bootstrapHarmonicMean(
      clean: clean, adversarial: adversarial, resamples: 400, seed: 4)
    #expect(other != first)
  }

  @Test func bootstrapOfAllWrongIsZero() {
    let interval = ConfidenceInterval.bootstrapHarmonicMean(
      clean: [true, true], adversarial: [false, false], resamples: 50)
    #expect(interval.lower == 0 && interval.upper == 0)
  }
}
