import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

/// A detector of 1x1 images whose score is the pixel value (a user's own type, registered like
/// a built-in one).
struct PixelDetector: RegisteredDetector {
  static let typeName = "test-pixel-detector"
  var falsePositiveRate = 0.05
  var threshold: Double?
  var fitConfiguration: [String: String] { ["fpr": "\(falsePositiveRate)"] }

  init(threshold: Double? = nil) { self.threshold = threshold }

  init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    falsePositiveRate = try parameters.value(DetectorParameter.falsePositiveRate)
    threshold = try parameters.valueIfPresent(DetectorParameter.threshold)
  }

  func scores(_ batch: ImageBatch, classify: Classify) throws -> [Double] {
    batch.pixels.map(Double.init)
  }
}

/// Detectors in pipelines: abstention, gradients, detection shares, STRIP's and MagNet's
/// scores, and fitting thresholds through pipeline files.
@Suite struct DetectorPipelineTests {
  let scratch: ScratchFolder

  init() throws {
    scratch = try ScratchFolder("bulwark-detectors")
  }

  /// Pixels above 0.6 are flagged: their rows are zero, they are counted wrong, and the score
  /// reports each set's flagged share over all images and over those the classifier gets
  /// wrong (TableClassifier: 0 and 0.25 are class 0, 0.5 and 0.75 class 1).
  @Test func abstainsOnFlaggedImagesAndReportsWhatItFlags() throws {
    let pipeline = Pipeline(
      classifier: TableClassifier(), detectors: [PixelDetector(threshold: 0.6)])
    let clean = TableClassifier.batch([(0, 0), (0.25, 0), (0.75, 1), (0.5, 1)])
    let adversarial = TableClassifier.batch([(0.75, 0), (0.5, 0), (0.25, 1), (0, 0)])
    #expect(
      try pipeline.defendedProbabilities(clean).values == [0.9, 0.1, 0.6, 0.4, 0, 0, 0.4, 0.6])
    let score = try pipeline.score(clean: clean, adversarial: adversarial)
    #expect(score.clean.correct == 3 && score.clean.abstentions == 1)
    #expect(score.adversarial.correct == 1 && score.adversarial.abstentions == 1)
    #expect(score.stages.map(\.kind) == ["classifier", "detector"])
    let detector = try #require(score.detectors.first)
    #expect(detector.name == "test-pixel-detector" && detector.threshold == 0.6)
    #expect(detector.clean.flagged == 1 && detector.clean.total == 4)
    #expect(detector.clean.interval == ConfidenceInterval.wilson(successes: 1, trials: 4))
    // The classifier gets 0.75 (label 0), 0.5 (label 0) and 0.25 (label 1) wrong; the
    // detector flags 0.75 of them.
    let set = try #require(detector.adversarialSets.first)
    #expect(set.flagged == 1 && set.misclassified == 3 && set.flaggedMisclassified == 1)
    let decoded = try JSONDecoder().decode(
      PipelineScore.self, from: JSONEncoder().encode(score))
    #expect(decoded == score)
  }

  /// TableClassifier whose input gradient is the gradient on each image's first logit (the
  /// table's own, a row sum, is zero after any softmax).
  struct FirstLogitClassifier: Classifier {
    var table = TableClassifier()
    var inputShape: ImageShape { table.inputShape }
    var classCount: Int { 2 }
    func logits(_ batch: ImageBatch) throws -> [Float] { try table.logits(batch) }
    func lossGradient(_ batch: ImageBatch, labels: [Int]) throws -> (
      loss: Double, input: [Float]
    ) { try table.lossGradient(batch, labels: labels) }
    func inputGradient(_ batch: ImageBatch, logitGradient: [Float]) throws -> [Float] {
      (0..<batch.count).map { logitGradient[$0 * 2] }
    }
  }

  /// A zeroed row passes no gradient; the others pass the classifier's.
  @Test func flaggedImagesPassNoGradient() throws {
    let batch = TableClassifier.batch([(0.75, 1), (0.25, 1)])
    let defended = Pipeline(
      classifier: FirstLogitClassifier(), detectors: [PixelDetector(threshold: 0.6)])
    let plain = Pipeline(classifier: FirstLogitClassifier())
    let gradient = try defended.inputGradient(batch, logitGradient: [1, 2, 3, 4])
    let expected = try plain.inputGradient(batch, logitGradient: [1, 2, 3, 4])
    #expect(gradient[0] == 0)
    #expect(gradient[1] == expected[1] && expected[1] != 0)
    let unfitted = Pipeline(classifier: TableClassifier(), detectors: [PixelDetector()])
    #expect(throws: DetectorError.notFitted(stage: "test-pixel-detector")) {
      try unfitted.defendedProbabilities(batch)
    }
  }

  /// 4x4 images classified by their second value v as [1 - v, v].
  struct SecondValueClassifier: Classifier {
    var inputShape: ImageShape { ImageShape(height: 4, width: 4, channels: 1) }
    var classCount: Int { 2 }
    func logits(_ batch: ImageBatch) throws -> [Float] {
      (0..<batch.count).flatMap { image -> [Float] in
        let value = batch.pixels[image * 16 + 1]
        return [Foundation.log(1 - value), Foundation.log(value)]
      }
    }
    func inputGradient(_ batch: ImageBatch, logitGradient: [Float]) throws -> [Float] {
      [Float](repeating: 0, count: batch.pixels.count)
    }
  }

  /// Flags 4x4 images whose first value is above 0.5.
  struct FirstValueDetector: Detector {
    var falsePositiveRate: Double { 0.05 }
    var threshold: Double? = 0.5
    var fitConfiguration: [String: String] { [:] }
    func scores(_ batch: ImageBatch, classify: Classify) throws -> [Double] {
      (0..<batch.count).map { Double(batch.pixels[$0 * 16]) }
    }
  }

  /// Against a pipeline with detectors an abstention is no success: from 0.45 everywhere with
  /// eps 0.2, the Square Attack must end with the first value at 0.25 (let through) and the
  /// second at 0.65 (class 1), not stop at the first flagged image. The scorer's accuracy still
  /// counts an abstention wrong.
  @Test func attacksSearchForImagesTheDetectorsLetThrough() throws {
    let shape = SecondValueClassifier().inputShape
    let clean = ImageBatch(shape: shape, pixels: [Float](repeating: 0.45, count: 16), labels: [0])
    let defended = Pipeline(
      classifier: SecondValueClassifier(), detectors: [FirstValueDetector()])
    #expect(!defended.abstentionIsAttackSuccess)
    #expect(Pipeline(classifier: SecondValueClassifier()).abstentionIsAttackSuccess)
    var flagged = clean
    flagged.pixels[0] = 0.65
    flagged.pixels[1] = 0.65
    #expect(try defended.attackSucceeded(on: flagged, targets: nil) == [false])
    for seed: UInt64 in 0..<4 {
      let adversarial = try SquareAttack(epsilon: 0.2, queries: 300, seed: seed)
        .perturb(clean, classifier: defended, targets: nil)
      expectClose(Array(adversarial.pixels[0..<2]), [0.25, 0.65], tolerance: 1e-6)
      #expect(try defended.attackSucceeded(on: adversarial, targets: nil) == [true])
    }
    let run = try AttackRun(
      adversarial: flagged, clean: clean, classifier: defended, targets: nil, seconds: 0,
      queries: nil)
    #expect(run.cleanAccuracy == 1 && run.adversarialAccuracy == 0)
  }

  @Test func stripEntropyIsInNats() {
    expectClose(STRIPDetector.entropy([0.25, 0.25, 0.25, 0.25]), log(4), tolerance: 1e-12)
    #expect(STRIPDetector.entropy([1, 0]) == 0)
    expectClose(STRIPDetector.entropy([0.5, 0.25, 0.25]), 1.5 * log(2), tolerance: 1e-12)
  }

  /// One pool image of 0s and a classifier of [mean, 1 - mean]: an image of 1s blends to 0.5
  /// (entropy ln 2, score 0); with a pool of 1s it stays 1 (entropy 0, score ln 2). With
  /// alpha 0.75 an image of 1s and the 0s pool blend to 0.75: ln 2 - H(0.75, 0.25).
  @Test func stripScoresAHandBuiltCase() throws {
    let shape = ImageShape(height: 2, width: 2, channels: 1)
    func images(_ value: Float, count: Int = 1) -> ImageBatch {
      ImageBatch(
        shape: shape, pixels: [Float](repeating: value, count: 4 * count),
        labels: [Int](repeating: 0, count: count))
    }
    let classify: Classify = { batch in
      (0..<batch.count).flatMap { image -> [Float] in
        let mean = batch.pixels[image * 4..<(image + 1) * 4].reduce(0, +) / 4
        return [mean, 1 - mean]
      }
    }
    let zeros = try STRIPDetector(pool: images(0), blends: 5)
    expectClose(try zeros.scores(images(1), classify: classify), [0], tolerance: 1e-7)
    let ones = try STRIPDetector(pool: images(1), blends: 5)
    expectClose(try ones.scores(images(1), classify: classify), [log(2)], tolerance: 1e-7)
    let weighted = try STRIPDetector(pool: images(0), blends: 3, alpha: 0.75)
    let entropy = -(0.75 * log(0.75) + 0.25 * log(0.25))
    expectClose(
      try weighted.scores(images(1, count: 2), classify: classify),
      [log(2) - entropy, log(2) - entropy], tolerance: 1e-6)
    #expect(throws: DetectorError.self) {
      try zeros.scores(TableClassifier.batch([(0, 0)]), classify: classify)
    }
  }

  /// An image's draws depend on the seed and the image, not on the batch around it.
  @Test func stripScoresDoNotDependOnTheBatch() throws {
    var generator = SeededGenerator(seed: 3)
    let shape = ImageShape(height: 2, width: 2, channels: 1)
    let pool = ImageBatch(
      shape: shape, pixels: (0..<40).map { _ in generator.unitFloat() },
      labels: [Int](repeating: 0, count: 10))
    let batch = ImageBatch(
      shape: shape, pixels: (0..<12).map { _ in generator.unitFloat() }, labels: [0, 0, 0])
    let classify: Classify = { batch in
      (0..<batch.count).flatMap { image -> [Float] in
        let first = 1 / (1 + Foundation.exp(-8 * (batch.pixels[image * 4] - 0.5)))
        return [first, 1 - first]
      }
    }
    let detector = try STRIPDetector(pool: pool, blends: 4, seed: 9)
    let together = try detector.scores(batch, classify: classify)
    let alone = try detector.scores(batch.selecting([2]), classify: classify)
    #expect(alone == [together[2]])
    let reseeded = try STRIPDetector(pool: pool, blends: 4, seed: 10)
    #expect(try reseeded.scores(batch, classify: classify) != together)
  }

  /// MagNet's score is the mean absolute (or root mean square) difference between an image and
  /// the autoencoder stage's reconstruction of it.
  @Test func magnetScoresTheReconstructionError() throws {
    let autoencoder = try AutoencoderPurificationTests.stage()
    let batch = AutoencoderPurificationTests.batch(count: 3, seed: 4)
    let reconstructed = try autoencoder.process(batch).pixels
    let size = AutoencoderPurificationTests.shape.valueCount
    for norm in [1, 2] {
      let detector = try MagNetDetector(autoencoder: autoencoder, norm: norm)
      let scores = try detector.scores(batch) { _ in [] }
      let expected = (0..<3).map { image -> Double in
        let differences = (image * size..<(image + 1) * size).map {
          Double(batch.pixels[$0] - reconstructed[$0])
        }
        return norm == 1
          ? differences.map(abs).reduce(0, +) / Double(size)
          : (differences.map { $0 * $0 }.reduce(0, +) / Double(size)).squareRoot()
      }
      expectClose(scores, expected, tolerance: 1e-9)
    }
    #expect(throws: DefenseParameterError.self) {
      try MagNetDetector(autoencoder: autoencoder, norm: 3)
    }
  }

  /// A pipeline file of a random LeNet-5 and random images: `fit` writes the threshold and a
  /// fit record, the threshold flags 5% of its fit images, and on held-out images of the same
  /// kind its false-positive rate is within its interval; scoring refuses the fit images.
  @Test func fitsAThresholdThroughThePipelineFile() throws {
    try Network(architecture: .lenet5(classes: 10), seed: 1).write(to: scratch.url("m.safetensors"))
    var generator = SeededGenerator(seed: 5)
    let shape = ImageShape(height: 28, width: 28, channels: 1)
    func images(_ count: Int) -> ImageBatch {
      ImageBatch(
        shape: shape, pixels: (0..<count * 784).map { _ in generator.unitFloat() },
        labels: (0..<count).map { $0 % 10 })
    }
    let fitImages = images(200)
    let heldOut = images(200)
    try fitImages.npzArchive.write(to: scratch.url("fit.npz"))
    try heldOut.npzArchive.write(to: scratch.url("held.npz"))
    let file = scratch.url("p.json5")
    try """
    {
      classifier: { model: "m.safetensors" },
      data: { clean: "held.npz", adversarial: "held.npz" },
      detectors: [
        { type: "squeezing-detector", bitDepth: 3, fpr: 0.05, fit: { clean: "fit.npz" } },
      ],
    }
    """.write(to: file, atomically: true, encoding: .utf8)
    let description = try PipelineDescription(contentsOf: file)
    let fitting = try #require(description.fittings.first)
    #expect(fitting.position == .detector(0) && description.fitting == nil)
    #expect(fitting.model.lastPathComponent == "p.squeezing-detector.json")
    #expect(throws: PipelineError.self) { try description.requireFitted() }
    let outcomes = try description.fit()
    let outcome = try #require(outcomes.first)
    #expect(outcomes.count == 1 && outcome.record.cleanCount == 200)
    // floor(0.05 * 200) = 10 fit images above the threshold (scores are distinct here).
    expectClose(outcome.record.trainingAccuracy, 0.95, tolerance: 1e-12)
    let fitted = try PipelineDescription(contentsOf: file)
    try fitted.requireFitted()
    #expect(fitted.detectors.first?.threshold == outcome.threshold)
    let pipeline = try Pipeline(fitted)
    let score = try pipeline.score(.init(clean: heldOut, adversarial: heldOut))
    let falsePositives = try #require(score.detectors.first?.clean)
    #expect(falsePositives.interval.lower <= 0.05 && 0.05 <= falsePositives.interval.upper)
    try fitted.checkNotFitted(on: .init(clean: heldOut, adversarial: heldOut))
    #expect(throws: PipelineErrors.self) {
      try fitted.checkNotFitted(on: .init(clean: fitImages, adversarial: heldOut))
    }
    // The threshold's model is part of what sets made against the pipeline depend on.
    #expect(try fitted.pipelineIdentity().contains("fitted:detectors[0]="))
  }

  func errors(_ stages: String) throws -> [String] {
    try Data().write(to: scratch.url("m.safetensors"))
    let file = scratch.url("e.json5")
    try """
    {
      classifier: { model: "m.safetensors" },
      data: { clean: "fashion-mnist:test", adversarial: { attack: { method: "fgsm", eps: 0.1 } } },
      \(stages)
    }
    """.write(to: file, atomically: true, encoding: .utf8)
    var registry = DefenseRegistry.standard
    try registry.register(PixelDetector.self)
    do {
      _ = try PipelineDescription(contentsOf: file, registry: registry)
      return []
    } catch {
      return error.errors.map(\.description)
    }
  }

  @Test func reportsDetectorMistakesWithTheirPath() throws {
    #expect(
      try errors("detectors: [{ type: \"test-pixel-detector\", threshold: 0.5 }]").isEmpty)
    let both = try errors(
      "detectors: [{ type: \"test-pixel-detector\", threshold: 0.5, fit: { clean: \"x.npz\" } }]")
    #expect(both.count == 1 && both[0].contains("detectors[0]: gives a threshold"))
    let adversarial = try errors(
      "detectors: [{ type: \"test-pixel-detector\", fit: { clean: \"fashion-mnist:train\", "
        + "adversarial: \"fashion-mnist:test\" } }]")
    #expect(adversarial.count == 1)
    #expect(
      adversarial[0].contains("detectors[0].fit.adversarial: this detector fits its threshold"))
    let misplaced = try errors("postprocessors: [{ type: \"strip\", pool: \"x\" }]")
    #expect(misplaced.count == 1)
    #expect(misplaced[0].hasSuffix("'strip' is a detector; move it to the detectors list"))
    let twice = try errors(
      "detectors: [{ type: \"test-pixel-detector\" }, { type: \"test-pixel-detector\" }]")
    #expect(twice.count == 1)
    #expect(twice[0].contains("detectors[1].model: detectors[0] keeps its model in "))
    let unknown = try errors("detectors: [{ type: \"magnett\" }]")
    #expect(unknown.count == 1 && unknown[0].contains("did you mean magnet?"))
    let fpr = try errors("detectors: [{ type: \"squeezing-detector\", fpr: 1 }]")
    #expect(fpr.count == 1 && fpr[0].contains("detectors[0].fpr"))
  }
}

/// The binary input detector: what it learns from, what it keeps for the threshold, its saved
/// model, and how pipeline files fit it.
@Suite struct BinaryInputDetectorTests {
  /// Dark images (values below 0.2) and bright ones (above 0.8), `count` of each kind.
  static func images(count: Int, bright: Bool, seed: UInt64) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    let pixels = (0..<count * 784).map { _ in
      generator.unitFloat() * 0.2 + (bright ? 0.8 : 0)
    }
    return ImageBatch(
      shape: ImageShape(height: 28, width: 28, channels: 1), pixels: pixels,
      labels: [Int](repeating: 0, count: count))
  }

  /// Trained on 30 dark (clean) and 40 bright (adversarial) images, it keeps the last 10 dark
  /// ones for the threshold, and scores new bright images above new dark ones.
  @Test func learnsToTellTheTwoKindsApartAndKeepsImagesForTheThreshold() throws {
    var detector = try BinaryInputDetector(epochs: 2, batchSize: 10, calibration: 0.25, seed: 3)
    #expect(!detector.isFitted && detector.learnsFromAdversarialImages)
    let clean = Self.images(count: 40, bright: false, seed: 1)
    let kept = try detector.learn(
      clean: clean, adversarial: Self.images(count: 40, bright: true, seed: 2)
    ) { _ in [] }
    #expect(kept.pixels == clean.selecting(30..<40).pixels)
    let dark = try detector.scores(Self.images(count: 5, bright: false, seed: 4)) { _ in [] }
    let bright = try detector.scores(Self.images(count: 5, bright: true, seed: 5)) { _ in [] }
    #expect(dark.max()! < bright.min()!)
    #expect(throws: DetectorError.notFitted(stage: "binary-input-detector")) {
      try detector.saveModel(to: URL(fileURLWithPath: "/nonexistent/d.safetensors"))
    }
    try detector.fitThreshold(on: try detector.scores(kept) { _ in [] })
    let scratch = try ScratchFolder("bulwark-binary-detector")
    let url = scratch.url("d.safetensors")
    try detector.saveModel(to: url)
    var loaded = try BinaryInputDetector(epochs: 2, batchSize: 10, calibration: 0.25, seed: 3)
    try loaded.loadModel(contentsOf: url)
    #expect(loaded.isFitted && loaded.threshold == detector.threshold)
    #expect(try loaded.scores(kept) { _ in [] } == detector.scores(kept) { _ in [] })
    // A network without a threshold in its metadata is refused with the file's name.
    try Network(architecture: .lenet5(classes: 2), seed: 1).write(to: url)
    #expect {
      try loaded.loadModel(contentsOf: url)
    } throws: { error in
      guard case .model(let file, _, let found) = error as? DetectorError else { return false }
      return file == url.path && found == "none"
    }
  }

  @Test func needsAdversarialImagesToFit() throws {
    let scratch = try ScratchFolder("bulwark-binary-detector")
    try Network(architecture: .lenet5(classes: 10), seed: 1).write(to: scratch.url("m.safetensors"))
    try Self.images(count: 8, bright: false, seed: 1).npzArchive.write(to: scratch.url("c.npz"))
    let file = scratch.url("p.json5")
    try """
    {
      classifier: { model: "m.safetensors" },
      data: { clean: "c.npz", adversarial: "c.npz" },
      detectors: [{ type: "binary-input-detector", epochs: 1, fit: { clean: "c.npz" } }],
    }
    """.write(to: file, atomically: true, encoding: .utf8)
    let description = try PipelineDescription(contentsOf: file)
    #expect(
      description.fittings.first?.model.lastPathComponent
        == "p.binary-input-detector.safetensors")
    #expect {
      try description.fit()
    } throws: { error in
      (error as? PipelineError)?.description.contains(
        "detectors[0].fit: names no adversarial images for binary-input-detector") == true
    }
  }
}

/// The gradients attacks use to evade detectors: MagNet's and the detector network's score
/// gradients against central differences, and PGD stepping out of what a detector flags.
@Suite struct DetectorEvasionTests {
  /// Central differences of `score` at `samples` values of `batch`, against `analytic`.
  static func expectMatchesDifferences(
    _ analytic: [Float], batch: ImageBatch, samples: Int, seed: UInt64, tolerance: Double,
    score: (ImageBatch) throws -> Double
  ) throws {
    var generator = SeededGenerator(seed: seed)
    let step: Float = 1.0 / 256
    for _ in 0..<samples {
      let index = generator.uniformInt(below: batch.pixels.count)
      var up = batch
      var down = batch
      up.pixels[index] += step
      down.pixels[index] -= step
      let numeric = (try score(up) - score(down)) / Double(2 * step)
      expectClose(Double(analytic[index]), numeric, tolerance: tolerance, "value \(index)")
    }
  }

  @Test(arguments: [1, 2])
  func magnetScoreGradientMatchesDifferences(norm: Int) throws {
    let detector = try MagNetDetector(
      autoencoder: AutoencoderPurificationTests.stage(), norm: norm)
    let batch = AutoencoderPurificationTests.batch(count: 1, seed: 8)
    let gradient = try #require(try detector.scoreGradient(batch) { _ in [] })
    try Self.expectMatchesDifferences(
      gradient, batch: batch, samples: 12, seed: 9, tolerance: 2e-4
    ) { try detector.scores($0) { _ in [] }[0] }
  }

  @Test func detectorNetworkScoreGradientMatchesDifferences() throws {
    let scratch = try ScratchFolder("bulwark-evasion")
    let url = scratch.url("d.safetensors")
    try Network(architecture: .lenet5(classes: 2), seed: 4).write(
      to: url, metadata: ["bulwark.detector.threshold": "0.5"])
    var detector = try BinaryInputDetector()
    try detector.loadModel(contentsOf: url)
    let batch = BinaryInputDetectorTests.images(count: 1, bright: true, seed: 6)
    let gradient = try #require(try detector.scoreGradient(batch) { _ in [] })
    try Self.expectMatchesDifferences(
      gradient, batch: batch, samples: 12, seed: 7, tolerance: 1e-4
    ) { try detector.scores($0) { _ in [] }[0] }
  }

  /// Flags 4x4 images whose first value is above 0.5; its score is that value, so its
  /// gradient is 1 there and 0 elsewhere.
  struct DifferentiableFirstValueDetector: Detector {
    var falsePositiveRate: Double { 0.05 }
    var threshold: Double? = 0.5
    var fitConfiguration: [String: String] { [:] }
    func scores(_ batch: ImageBatch, classify: Classify) throws -> [Double] {
      (0..<batch.count).map { Double(batch.pixels[$0 * 16]) }
    }
    func scoreGradient(_ batch: ImageBatch, classify: Classify) throws -> [Float]? {
      (0..<batch.pixels.count).map { $0 % 16 == 0 ? 1 : 0 }
    }
  }

  /// A 4x4 image of 0.45 with its first value at `first`, labelled 0 (the class the
  /// second-value classifier gives it).
  static func image(first: Float) -> ImageBatch {
    var pixels = [Float](repeating: 0.45, count: 16)
    pixels[0] = first
    return ImageBatch(
      shape: DetectorPipelineTests.SecondValueClassifier().inputShape, pixels: pixels,
      labels: [0])
  }

  /// The second-value classifier behind `detectors`.
  static func pipeline(_ detectors: [any Detector]) -> Pipeline {
    Pipeline(classifier: DetectorPipelineTests.SecondValueClassifier(), detectors: detectors)
  }

  /// From a first value of 0.62, flagged, PGD steps it down by 0.05 until the detector lets
  /// the image through, untargeted or targeted; the classifier's own gradient is zero, so it
  /// then stays. A detector without a gradient leaves PGD nothing to follow.
  @Test func pgdStepsOutOfWhatADifferentiableDetectorFlags() throws {
    let clean = Self.image(first: 0.62)
    let pipeline = Self.pipeline([DifferentiableFirstValueDetector()])
    let attack = PGD(epsilon: 0.2, stepSize: 0.05, steps: 6, randomStart: false)
    for targets in [nil, [1]] {
      let adversarial = try attack.perturb(clean, classifier: pipeline, targets: targets)
      expectClose(adversarial.pixels[0], 0.47, tolerance: 1e-5)
      #expect(try pipeline.anyDetectorFlags(adversarial) == [false])
    }
    let blind = Self.pipeline([DetectorPipelineTests.FirstValueDetector()])
    #expect(try blind.evasion(clean) == nil)
    #expect(try attack.perturb(clean, classifier: blind, targets: nil).pixels[0] == 0.62)
  }

  /// The evasion is the score's excess over the threshold, and its gradient, on the flagged
  /// image only.
  @Test func evasionIsTheExcessOverTheThreshold() throws {
    var batch = Self.image(first: 0.625)
    batch.pixels += Self.image(first: 0.45).pixels
    batch.labels += [0]
    let pipeline = Self.pipeline([
      DifferentiableFirstValueDetector(), DifferentiableFirstValueDetector(),
    ])
    let evasion = try #require(try pipeline.evasion(batch))
    #expect(evasion.excess == [0.25, 0])
    #expect(evasion.isFlagged(0) && !evasion.isFlagged(1))
    #expect(evasion.gradient == (0..<32).map { $0 == 0 ? 2 : 0 })
  }

  /// APGD counts an abstention as no success against a pipeline with detectors, and from
  /// random starts that the detector flags it follows the detector's gradient out: every seed
  /// ends let through, with the first value within the ball.
  @Test func apgdLeavesWhatADifferentiableDetectorFlags() throws {
    let clean = Self.image(first: 0.6)
    let pipeline = Self.pipeline([DifferentiableFirstValueDetector()])
    var startsFlagged = 0
    for seed: UInt64 in 0..<6 {
      let attack = APGD(epsilon: 0.2, steps: 10, restarts: 1, seed: seed)
      let start = attack.ball.surfaceStart(
        around: clean.pixels, imageSize: 16, seed: seed, streams: [0])
      if start[0] > 0.5 { startsFlagged += 1 }
      let adversarial = try attack.perturb(clean, classifier: pipeline, targets: nil)
      #expect(try pipeline.anyDetectorFlags(adversarial) == [false], "seed \(seed)")
      #expect(adversarial.pixels[0] >= 0.4 - 1e-6)
    }
    #expect(startsFlagged > 0)
  }
}
