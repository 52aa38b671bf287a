import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkDefenses

/// The detector protocol's threshold (an empirical quantile), its saved model, and the
/// feature-squeezing detector on hand-checked cases.
@Suite struct DetectorTests {
  static let shape = ImageShape(height: 2, width: 2, channels: 1)

  /// Images whose four values are all `value`.
  static func constant(_ values: [Float]) -> ImageBatch {
    ImageBatch(
      shape: shape, pixels: values.flatMap { [Float](repeating: $0, count: 4) },
      labels: [Int](repeating: 0, count: values.count))
  }

  /// Two classes: [mean, 1 - mean] of each image's values.
  static func meanClassifier(_ batch: ImageBatch) -> [Float] {
    (0..<batch.count).flatMap { image -> [Float] in
      let values = batch.pixels[image * 4..<(image + 1) * 4]
      let mean = values.reduce(0, +) / 4
      return [mean, 1 - mean]
    }
  }

  /// With n scores sorted and k = floor(rate n), the threshold is the (n - k)-th smallest.
  @Test(arguments: [
    (0.05, 1.0),  // k = 0: the largest; nothing above it
    (0.1, 0.9),  // k = 1
    (0.25, 0.8),  // k = 2 (2.5 rounded down)
    (0.0, 1.0),
    (0.99, 0.1),  // k = 9: the smallest
  ])
  func thresholdIsTheEmpiricalQuantile(rate: Double, expected: Double) throws {
    let scores = [0.7, 0.2, 1.0, 0.5, 0.9, 0.3, 0.8, 0.6, 0.4, 0.1]
    let threshold = try SqueezingDetector.threshold(flagging: rate, of: scores)
    #expect(threshold == expected)
    let flagged = scores.count(where: { $0 > threshold })
    #expect(flagged == Int((rate * 10).rounded(.down)))
  }

  /// Ties at the threshold are let through, so the share flagged never exceeds the rate.
  @Test func tiesAtTheThresholdAreNotFlagged() throws {
    let scores = [1.0, 1.0, 1.0, 2.0]
    let threshold = try SqueezingDetector.threshold(flagging: 0.5, of: scores)
    #expect(threshold == 1)
    #expect(scores.count(where: { $0 > threshold }) == 1)
    #expect(throws: DetectorError.noImages(stage: "squeezing-detector")) {
      try SqueezingDetector.threshold(flagging: 0.05, of: [])
    }
  }

  /// Values 0.3 squeeze to 0 at one bit and stay 0.3 under a median, so the score is the L1
  /// distance between [0.3, 0.7] and [0, 1]: 0.6. Values 0.8 squeeze to 1: 0.4.
  @Test func squeezingScoreIsTheLargestL1Distance() throws {
    let detector = try SqueezingDetector(bitDepth: 1, window: 2)
    let scores = try detector.scores(Self.constant([0.3, 0.8, 1]), classify: Self.meanClassifier)
    expectClose(scores, [0.6, 0.4, 0], tolerance: 1e-6)
    // A median alone leaves a constant image as it is.
    let median = try SqueezingDetector(bitDepth: 0, window: 2)
    #expect(try median.scores(Self.constant([0.3]), classify: Self.meanClassifier) == [0])
  }

  @Test func flagsAboveTheFittedThresholdAndRefusesBeforeIt() throws {
    var detector = try SqueezingDetector(bitDepth: 1, window: 1, falsePositiveRate: 0.34)
    let batch = Self.constant([0.3, 0.8, 1])
    #expect(throws: DetectorError.notFitted(stage: "squeezing-detector")) {
      try detector.flags(batch, classify: Self.meanClassifier)
    }
    // Scores 0.6, 0.4, 0: k = floor(0.34 * 3) = 1, so the threshold is 0.4.
    try detector.fitThreshold(on: try detector.scores(batch, classify: Self.meanClassifier))
    #expect(detector.threshold.map { abs($0 - 0.4) < 1e-6 } == true)
    #expect(try detector.flags(batch, classify: Self.meanClassifier) == [true, false, false])
  }

  @Test func refusesScoresThatAreNotFinite() throws {
    let detector = try SqueezingDetector(bitDepth: 1, window: 1, threshold: 0.5)
    #expect(throws: DetectorError.score(stage: "squeezing-detector", image: 1, found: "nan")) {
      try detector.flags(Self.constant([0.3, 0.5])) { batch in
        Self.meanClassifier(batch).enumerated().map { $0.offset >= 2 ? .nan : $0.element }
      }
    }
  }

  /// The model is `{ "fpr": …, "threshold": … }`, read back exactly; a file that is not one
  /// is refused with its name.
  @Test func savesAndLoadsTheThreshold() throws {
    let scratch = try ScratchFolder("bulwark-detector")
    let url = scratch.url("d.json")
    let detector = try SqueezingDetector(falsePositiveRate: 0.1, threshold: 0.1 + 0.2)
    try detector.saveModel(to: url)
    let text = try String(contentsOf: url, encoding: .utf8)
    #expect(text.contains("\"fpr\" : 0.1") && text.contains("\"threshold\" : 0.30000000000000004"))
    var loaded = try SqueezingDetector(falsePositiveRate: 0.1)
    #expect(!loaded.isFitted)
    try loaded.loadModel(contentsOf: url)
    #expect(loaded.threshold == 0.1 + 0.2)
    try Data("{\"threshold\": \"high\"}".utf8).write(to: url)
    #expect {
      try loaded.loadModel(contentsOf: url)
    } throws: { error in
      guard case .model(let file, let expected, _) = error as? DetectorError else { return false }
      return file == url.path && expected.contains("threshold")
    }
    #expect(throws: DetectorError.notFitted(stage: "squeezing-detector")) {
      try SqueezingDetector().saveModel(to: url)
    }
  }

  @Test func refusesParametersOutOfRange() {
    #expect(throws: DefenseParameterError.self) { try SqueezingDetector(falsePositiveRate: 1) }
    #expect(throws: DefenseParameterError.self) { try SqueezingDetector(falsePositiveRate: -0.1) }
    #expect(throws: DefenseParameterError.self) { try SqueezingDetector(bitDepth: 0, window: 1) }
    #expect(throws: DefenseParameterError.self) { try SqueezingDetector(threshold: .infinity) }
  }
}
