import BulwarkData
import BulwarkDefenses
import Foundation
import Testing

@testable import BulwarkPipeline

/// Moves 0.25 and 0.5 to 0.75; other values are unchanged.
struct Remap: RegisteredPreprocessor {
  static let typeName = "test-remap"
  var isRandomized: Bool { false }

  init() {}

  init(from decoder: any Decoder) throws {}

  func process(_ batch: ImageBatch) -> ImageBatch {
    var result = batch
    result.pixels = batch.pixels.map { $0 == 0.25 || $0 == 0.5 ? 0.75 : $0 }
    return result
  }
}

@Suite struct ScorerTests {
  /// Hand-checked: see the comments by each expectation.
  @Test func scoresAHandMadeClassifier() throws {
    let pipeline = Pipeline(
      classifier: TableClassifier(), preprocessors: [Remap()],
      postprocessors: [try HighConfidence(cutoff: 0.58)])
    // Clean: (0, 0) both right; (0.5, 1) both right; (0.5, 0) both wrong; (1, 0) undefended
    // right, defended abstains ([0.55, 0.45] all below 0.58).
    let clean = TableClassifier.batch([(0, 0), (0.5, 1), (0.5, 0), (1, 0)])
    // Adversarial: (0.25, 1) rectified; (0.5, 1) both right; (0.5, 0) both wrong.
    let adversarial = TableClassifier.batch([(0.25, 1), (0.5, 1), (0.5, 0)])
    let score = try pipeline.score(clean: clean, adversarial: adversarial, batchSize: 2)

    #expect(score.clean.correct == 2 && score.clean.total == 4)
    #expect(score.clean.undefendedCorrect == 3)
    #expect(score.clean.abstentions == 1)
    #expect(score.adversarial.correct == 2 && score.adversarial.total == 3)
    #expect(score.adversarial.undefendedCorrect == 1)
    #expect(score.adversarial.abstentions == 0)
    #expect(abs(score.harmonicMean - 4.0 / 7) < 1e-12)  // 2 (1/2)(2/3) / (1/2 + 2/3)
    #expect(abs(score.undefendedHarmonicMean - 6.0 / 13) < 1e-12)  // 2 (3/4)(1/3) / (13/12)

    // JS of defended [0.9, 0] against raw [0.9, 0.1]: m = [0.9, 0.05] -> [18/19, 1/19].
    let js1 = 0.5 * (log(19.0 / 18) + 0.9 * log(0.95) + 0.1 * log(1.9))
    // JS of defended [0, 0.8] against raw [0.4, 0.6]: m = [0.2, 0.7] -> [2/9, 7/9].
    let js2 = 0.5 * (log(9.0 / 7) + 0.4 * log(1.8) + 0.6 * log(27.0 / 35))
    let cleanMetrics = score.clean.evaluation
    #expect(cleanMetrics.cav == -0.25)
    #expect(cleanMetrics.crr == 0)
    #expect(cleanMetrics.csr == 0.25)
    #expect(abs((cleanMetrics.ccv ?? -1) - 0.1) < 1e-6)  // (|0.9 - 0.9| + |0.8 - 0.6|) / 2
    #expect(abs((cleanMetrics.cos ?? -1) - (js1 + js2) / 2) < 1e-6)
    let adversarialMetrics = score.adversarial.evaluation
    #expect(abs(adversarialMetrics.cav - 1.0 / 3) < 1e-12)
    #expect(abs(adversarialMetrics.crr - 1.0 / 3) < 1e-12)
    #expect(adversarialMetrics.csr == 0)
    #expect(abs((adversarialMetrics.ccv ?? -1) - 0.2) < 1e-6)
    #expect(abs((adversarialMetrics.cos ?? -1) - js2) < 1e-6)

    #expect(score.stages.map(\.kind) == ["preprocessor", "classifier", "postprocessor"])
    #expect(score.stages.map(\.name) == ["test-remap", "classifier", "high-confidence"])
  }

  @Test func reportsNoConfidenceMetricsWithoutCommonSuccesses() throws {
    let pipeline = Pipeline(classifier: TableClassifier())
    let wrong = TableClassifier.batch([(0, 1)])
    let score = try pipeline.score(clean: wrong, adversarial: wrong)
    #expect(score.clean.evaluation.ccv == nil && score.clean.evaluation.cos == nil)
    #expect(score.harmonicMean == 0)
  }

  /// Two sets made from the same clean images, one limited to the first three: the worst case
  /// covers those three, image by image. Pixel 0 and 0.25 are class 0, 0.75 class 1.
  @Test func takesTheWorstCaseOverThePrefixPairedSetsShare() throws {
    let clean = TableClassifier.batch([(0, 0), (0.75, 1), (0, 0), (0.75, 1)])
    let full = TableClassifier.batch([(0, 0), (0, 1), (0.25, 0), (0.75, 1)])
    let limited = TableClassifier.batch([(0.75, 0), (0.75, 1), (0, 0)])
    let data = PipelineDescription.Data(
      clean: clean,
      adversarialSets: [
        .init(name: "full", images: full, fromCache: true, attacker: "a", isPaired: true),
        .init(name: "limited", images: limited, fromCache: true, attacker: "b", isPaired: true),
      ])
    let score = try Pipeline(classifier: TableClassifier()).score(data)
    // full: right, wrong, right, right; limited: wrong, right, right.
    #expect(score.adversarialSets.map(\.score.correct) == [3, 2])
    #expect(score.worstCase?.correct == 1 && score.worstCase?.total == 3)
    #expect(score.adversarial == score.worstCase)
  }

  /// Leaving out the images a fitted postprocessor learnt from drops the same positions of every
  /// paired set, though an attack made later does not share their fingerprints.
  @Test func leavesOutFittedImagesByPositionFromPairedSets() {
    let clean = TableClassifier.batch([(0, 0), (0.5, 1), (0.25, 0), (1, 1)])
    let attacked = TableClassifier.batch([(0.1, 0), (0.6, 1), (0.35, 0), (0.9, 1)])
    let given = TableClassifier.batch([(0.5, 1), (0.7, 1)])
    let data = PipelineDescription.Data(
      clean: clean,
      adversarialSets: [
        .init(name: "a", images: attacked, fromCache: true, attacker: "a", isPaired: true),
        .init(name: "g", images: given, fromCache: nil, attacker: "g", isPaired: false),
      ])
    let excluded = Set(TableClassifier.batch([(0.5, 1), (1, 1)]).fingerprints())
    let kept = data.removing(fingerprints: excluded)
    #expect(kept.clean.pixels == [0, 0.25])
    #expect(kept.adversarialSets[0].images.pixels == [0.1, 0.35])
    #expect(kept.adversarialSets[1].images.pixels == [0.7])
  }

  @Test func rejectsSetsThatDoNotFitTheClassifier() {
    let pipeline = Pipeline(classifier: TableClassifier())
    let wide = ImageBatch(
      shape: ImageShape(height: 1, width: 2, channels: 1), pixels: [0, 0], labels: [0])
    #expect(throws: PipelineError.self) { try pipeline.check(wide, name: "data.clean", file: "f") }
    let nan = TableClassifier.batch([(.nan, 0)])
    #expect(
      throws: PipelineError(file: "f", path: "data.clean", message: "image 0 holds NaN values")
    ) { try pipeline.check(nan, name: "data.clean", file: "f") }
  }
}
