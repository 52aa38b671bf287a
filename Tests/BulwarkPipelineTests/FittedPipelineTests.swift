import BulwarkBoosting
import BulwarkData
import BulwarkDefenses
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

/// A randomised preprocessor whose pass `k` adds 0.25 k to every pixel (clipped to 1), so that
/// every pass of `TableClassifier` reads a known row.
struct PassShift: RegisteredPreprocessor {
  static let typeName = "test-pass-shift"
  var shift: Float = 0
  var isRandomized: Bool { true }

  init() {}

  init(from decoder: any Decoder) throws {}

  func process(_ batch: ImageBatch) -> ImageBatch {
    var result = batch
    result.pixels = batch.pixels.map { min($0 + shift, 1) }
    return result
  }

  func reseeded(pass: Int) -> any Preprocessor {
    var copy = self
    copy.shift = 0.25 * Float(pass)
    return copy
  }
}

/// A fitted postprocessor of three passes that averages them; `fit` records the labels, which
/// are its model (saved as JSON).
struct MeanOfPasses: FittedPostprocessor {
  static let modelFileExtension = "json"
  var passesPerImage: Int { 3 }
  var isFitted: Bool { fittedLabels != nil }
  var fitConfiguration: [String: String] { ["passes": "3"] }
  var fittedLabels: [Int]?

  func saveModel(to url: URL) throws {
    try JSONEncoder().encode(fittedLabels).write(to: url, options: .atomic)
  }

  mutating func loadModel(contentsOf url: URL) throws {
    fittedLabels = try JSONDecoder().decode([Int].self, from: Data(contentsOf: url))
  }

  mutating func fit(passes: [Probabilities], labels: [Int]) throws {
    fittedLabels = labels
  }

  func process(passes: [Probabilities]) throws -> Probabilities {
    guard let first = passes.first else { throw DistributionClassifierError.notFitted }
    var values = [Float](repeating: 0, count: first.values.count)
    for table in passes {
      for index in values.indices { values[index] += table.values[index] / Float(passes.count) }
    }
    return Probabilities(rows: first.rows, columns: first.columns, values: values)
  }
}

@Suite struct FittedPipelineTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }

  init() throws {
    scratch = try ScratchFolder("bulwark-fitted")
    try Data().write(to: scratch.url.appendingPathComponent("model.safetensors"))
  }

  /// Pass k of pixel 0 reads row 0.25 k of the table: [0.9, 0.1], [0.6, 0.4], [0.4, 0.6].
  @Test func combinesPassesBetweenTheOtherPostprocessors() throws {
    var pipeline = Pipeline(
      classifier: TableClassifier(), preprocessors: [PassShift()],
      postprocessors: [try HighConfidence(cutoff: 0.5), MeanOfPasses(), try Rounded(decimals: 1)])
    let batch = TableClassifier.batch([(0, 0)])
    let passes = try pipeline.passes(batch)
    // Each pass went through high-confidence (values below 0.5 become 0) before the mean.
    #expect(passes.map(\.values) == [[0.9, 0], [0.6, 0], [0, 0.6]])
    // Unfitted: the test stage does not care, so the pipeline runs: mean [0.5, 0.2], rounded.
    #expect(try pipeline.defendedProbabilities(batch).values == [0.5, 0.2])
    try pipeline.fitPostprocessor(on: TableClassifier.batch([(0, 1), (0.5, 0)]))
    let fitted = try #require(pipeline.postprocessors[1] as? MeanOfPasses)
    #expect(fitted.fittedLabels == [1, 0])
  }

  @Test func scoresAMultiPassPipeline() throws {
    let pipeline = Pipeline(
      classifier: TableClassifier(), preprocessors: [PassShift()],
      postprocessors: [MeanOfPasses()])
    // Pixel 0.5: rows [0.4, 0.6], [0.2, 0.8], [0.55, 0.45] -> mean [0.383, 0.617]: class 1.
    let score = try pipeline.score(
      clean: TableClassifier.batch([(0.5, 1)]), adversarial: TableClassifier.batch([(0.5, 0)]))
    #expect(score.clean.correct == 1 && score.adversarial.correct == 0)
    #expect(score.stages.map(\.kind) == ["preprocessor", "classifier", "postprocessor"])
  }

  func write(_ text: String, name: String = "p.json5") throws -> URL {
    let url = folder.appendingPathComponent(name)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url
  }

  func pipeline(pre: String = "", post: String) -> String {
    """
    {
      classifier: { model: "model.safetensors" },
      data: { clean: "fashion-mnist:test", adversarial: { attack: { method: "fgsm", eps: 0.1 } } },
      preprocessors: [\(pre)],
      postprocessors: [\(post)],
    }
    """
  }

  func errors(_ text: String) -> [String] {
    var registry = DefenseRegistry.standard
    do {
      try registry.register(PassShift.self)
    } catch {
      Issue.record("cannot register the test stage: \(error)")
    }
    do {
      _ = try PipelineDescription(contentsOf: write(text), registry: registry)
      return []
    } catch let error as PipelineErrors {
      return error.errors.map(\.description)
    } catch {
      return ["\(error)"]
    }
  }

  @Test func readsModelAndFitKeysWithDefaults() throws {
    let text = pipeline(
      post: """
        { type: "distribution-classifier", fit: { clean: "fashion-mnist:train", limit: 50,
          adversarial: { attack: { method: "fgsm", eps: 0.1 } } } }
        """)
    let description = try PipelineDescription(contentsOf: write(text, name: "demo.json5"))
    let fitting = try #require(description.fitting)
    #expect(fitting.model.lastPathComponent == "demo.distribution-classifier.txt")
    #expect(fitting.record.lastPathComponent == "demo.distribution-classifier.txt.fit.json")
    #expect(fitting.clean == .builtin(.fashionMNISTTrain))
    #expect(fitting.limit == 50)
    guard case .attack(let attack) = fitting.adversarial else {
      Issue.record("expected an attack")
      return
    }
    #expect(attack.method == "fgsm")
    #expect(throws: PipelineError.self) { try description.requireFitted() }
  }

  @Test func rejectsTwoFittedPostprocessors() {
    let stage = "{ type: \"distribution-classifier\" }"
    let found = errors(pipeline(post: "\(stage), \(stage)"))
    #expect(found.count == 1)
    #expect(found.first?.contains("postprocessors[1]: a pipeline holds at most one") == true)
  }

  @Test func rejectsDistributionFeaturesWithoutARandomisedPreprocessor() {
    let post = "{ type: \"distribution-classifier\", features: \"distribution\" }"
    let found = errors(pipeline(pre: "{ type: \"spatial-smoothing\", window: 3 }", post: post))
    #expect(found.count == 1)
    #expect(found.first?.contains("need a randomised preprocessor") == true)
    #expect(errors(pipeline(pre: "{ type: \"test-pass-shift\" }", post: post)).isEmpty)
  }

  @Test func reportsBadFitKeysWithTheirPath() {
    let found = errors(
      pipeline(
        post: """
          { type: "distribution-classifier",
            fit: { adversarial: { attack: { method: "fgsm", eps: 0.1 } }, limt: 3 } }
          """))
    #expect(found.contains { $0.contains("postprocessors[0].fit.adversarial: an attack runs on") })
    #expect(found.contains { $0.contains("postprocessors[0].fit.limt: unknown key") })
  }

  /// The distribution classifier `fittedDescription` fits: tiny trees.
  static let smallTrees =
    "{ type: \"distribution-classifier\", numLeaves: 2, minDataInLeaf: 1, rounds: 2 }"

  /// A tiny model and a fit record, beside a pipeline that uses them: the record's clean images
  /// are pixels 0 and 0.25, its adversarial image pixel 0.5.
  func fittedDescription(
    pre: String = "", stage: String = Self.smallTrees
  ) throws -> PipelineDescription {
    let table = Probabilities(
      rows: 4, columns: 2, values: [0.9, 0.1, 0.2, 0.8, 0.8, 0.2, 0.3, 0.7])
    var classifier = try DistributionClassifier(
      boosting: BoostingParameters(numLeaves: 2, minDataInLeaf: 1, rounds: 2))
    try classifier.fit(passes: [table], labels: [0, 1, 0, 1])
    let model = try #require(classifier.model)
    try model.write(to: folder.appendingPathComponent("p.distribution-classifier.txt"))
    let fitted = TableClassifier.batch([(0, 0), (0.25, 1), (0.5, 0)])
    let record = FitRecord(
      stage: classifier, cleanSource: "x", adversarialSource: nil,
      cleanFingerprints: fitted.prefix(2).fingerprints(),
      adversarialFingerprints: fitted.selecting([2]).fingerprints(),
      trainingAccuracy: 1, seconds: 0)
    try record.write(to: folder.appendingPathComponent("p.distribution-classifier.txt.fit.json"))
    var registry = DefenseRegistry.standard
    try registry.register(PassShift.self)
    return try PipelineDescription(
      contentsOf: write(pipeline(pre: pre, post: stage)), registry: registry)
  }

  @Test func refusesToScoreOnFittedImages() throws {
    let description = try fittedDescription()
    try description.requireFitted()
    let fresh = TableClassifier.batch([(0.75, 0), (1, 1)])
    try description.checkNotFitted(on: .init(clean: fresh, adversarial: fresh))
    let mixed = TableClassifier.batch([(0.75, 0), (0, 0), (0.5, 1)])
    do {
      try description.checkNotFitted(on: .init(clean: fresh, adversarial: mixed))
      Issue.record("scored on fitted images")
    } catch let error as PipelineErrors {
      #expect(error.errors.count == 1)
      #expect(
        error.errors.first?.description.hasSuffix(
          "data.adversarial: 2 of 3 images were used to fit the distribution-classifier "
            + "(1 from fit.clean, 1 from fit.adversarial); score on images it was not fitted on")
          == true)
    }
  }

  @Test func refusesAModelFittedWithOtherFeatures() throws {
    let description = try fittedDescription(
      pre: "{ type: \"test-pass-shift\" }",
      stage: "{ type: \"distribution-classifier\", features: \"distribution\", passes: 2, "
        + "numLeaves: 2, minDataInLeaf: 1, rounds: 2 }")
    let fresh = TableClassifier.batch([(0.75, 0)])
    let error = #expect(throws: PipelineError.self) {
      try description.checkNotFitted(on: .init(clean: fresh, adversarial: fresh))
    }
    #expect(
      error?.message
        == "the model was fitted with other settings: bins unset (the stage asks for 20), "
        + "features softmax (the stage asks for distribution), passes 1 (the stage asks for 2)")
    #expect(error?.remedy == .refit(pipeline: description.file.path))
  }

  @Test func fingerprintsRoundTripAndTellImagesApart() throws {
    let batch = TableClassifier.batch([(0, 0), (0.25, 1), (0, 1)])
    let prints = batch.fingerprints()
    #expect(prints[0] == prints[2] && prints[0] != prints[1])
    // FNV-1a of the four bytes of 0.0 (all zero) from the offset basis.
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for _ in 0..<4 { hash = hash &* 0x0000_0100_0000_01b3 }
    #expect(prints[0] == hash)
    #expect(FitRecord.decode(FitRecord.encode(prints)) == prints)
    #expect(FitRecord.decode("not base64!") == nil)
  }
}
