import BulwarkData
import BulwarkDefenses
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

/// A fitted postprocessor for tests: learns which true class each predicted class (the argmax
/// of the mean of its passes) most often is, then answers that class with probability 1.
struct Relabel: FittedPostprocessor, RegisteredPostprocessor {
  static let typeName = "test-relabel"
  static let modelFileExtension = "json"
  var passesPerImage: Int
  var mapping: [Int] = []
  var isFitted: Bool { !mapping.isEmpty }
  var fitConfiguration: [String: String] { ["passes": "\(passesPerImage)"] }

  func saveModel(to url: URL) throws {
    try JSONEncoder().encode(mapping).write(to: url, options: .atomic)
  }

  mutating func loadModel(contentsOf url: URL) throws {
    mapping = try JSONDecoder().decode([Int].self, from: Data(contentsOf: url))
  }

  enum CodingKeys: String, CodingKey { case passes }

  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    passesPerImage = try container.decodeIfPresent(Int.self, forKey: .passes) ?? 1
  }

  private func predictions(_ passes: [Probabilities]) -> [Int] {
    (0..<passes[0].rows).map { row in
      let columns = passes[0].columns
      let mean = (0..<columns).map { column in
        passes.reduce(0) { $0 + $1.values[row * columns + column] }
      }
      return mean.indices.max { mean[$0] < mean[$1] } ?? 0
    }
  }

  mutating func fit(passes: [Probabilities], labels: [Int]) throws {
    precondition(passes.count == passesPerImage)
    let columns = passes[0].columns
    var counts = [[Int]](repeating: [Int](repeating: 0, count: columns), count: columns)
    for (predicted, label) in zip(predictions(passes), labels) { counts[predicted][label] += 1 }
    mapping = counts.map { row in row.indices.max { row[$0] < row[$1] } ?? 0 }
  }

  func process(passes: [Probabilities]) throws -> Probabilities {
    let columns = passes[0].columns
    var values = [Float](repeating: 0, count: passes[0].rows * columns)
    for (row, predicted) in predictions(passes).enumerated() {
      values[row * columns + mapping[predicted]] = 1
    }
    return Probabilities(rows: passes[0].rows, columns: columns, values: values)
  }
}

@Suite struct TunerTests {
  @Test(arguments: [
    (10.0, 90.0, 10.0, [10.0, 20, 30, 40, 50, 60, 70, 80, 90]),
    (0.1, 0.5, 0.1, [0.1, 0.2, 0.3, 0.4, 0.5]),
    (2, 7, 2, [2, 4, 6]),
    (1, 1, 1, [1]),
  ])
  func expandsRanges(from: Double, to: Double, step: Double, expected: [Double]) {
    #expect(ParameterGrid.range(from: from, to: to, step: step) == expected)
  }

  /// `count` copies of a slot, comma-separated.
  static func repeated(_ slot: String, _ count: Int) -> String {
    Array(repeating: slot, count: count).joined(separator: ", ")
  }

  /// Grids too large to search are errors before any work: a range is counted before it is
  /// built (a tiny step or a huge end used to trap converting to Int), and so are a stage's
  /// combinations and the whole space.
  static let oversizedSpaces: [(slots: String, message: String)] = [
    (
      "{ type: 'jpeg-compression', quality: { from: 1, to: 90, step: 1e-300 } }",
      "tune.preprocessors[0].quality: a range of"
    ),
    (
      "{ type: 'spatial-smoothing', window: { from: 1, to: 9223372036854775807, step: 1 } }",
      "tune.preprocessors[0].window: a range of"
    ),
    (
      "{ type: 'total-variation-minimization', lambda: { from: 0.01, to: 1, step: 0.01 }, "
        + "keepProbability: { from: 0.01, to: 1, step: 0.01 }, maxIterations: { from: 1, to: 20, step: 1 } }",
      "tune.preprocessors[0]: its parameter lists give 200000 combinations; at most 100000"
    ),
    (
      "{ oneOf: [{ type: 'spatial-smoothing', window: { from: 1, to: 250, step: 1 } }] }, "
        + "{ oneOf: [{ type: 'jpeg-compression', quality: { from: 1, to: 100, step: 1 } }] }, "
        + "{ oneOf: [null, { type: 'feature-squeezing', bitDepth: [1, 2, 3, 4, 5, 6, 7], clipValues: [[0, 1]] }] }",
      "tune: the search space has 200000 configurations; at most 100000"
    ),
    // 10^12 configurations passed validate and exhausted memory in tune.
    (
      repeated(
        "{ oneOf: [{ type: 'jpeg-compression', quality: { from: 1, to: 100, step: 1 } }] }", 6),
      "tune: the search space has 1000000000000 configurations; at most 100000"
    ),
    // Five slots of 100,000 each were built (52 s, 376 MB) before the space was refused.
    (
      repeated(
        "{ type: 'total-variation-minimization', lambda: { from: 0.001, to: 0.1, step: 0.001 }, "
          + "keepProbability: { from: 0.001, to: 1, step: 0.001 } }", 5),
      "tune: the search space has about 1e+25 configurations; at most 100000"
    ),
  ]

  @Test(arguments: oversizedSpaces)
  func refusesGridsTooLargeToSearch(_ slots: String, _ message: String) {
    let text = "{ tune: { preprocessors: [\(slots)] } }"
    do {
      _ = try SearchSpace(json5: text, file: "t.json5", folder: URL(fileURLWithPath: "/tmp"))
      Issue.record("accepted \(slots)")
    } catch {
      #expect(error.errors.contains { $0.description.contains(message) }, "\(error.errors)")
    }
  }

  @Test func refinesInTenthsOfTheSpacingOrIntegerNeighbours() {
    #expect(
      ParameterGrid.refinement(around: 0.3, spacing: 0.1, integral: false)
        == [0.25, 0.26, 0.27, 0.28, 0.29, 0.31, 0.32, 0.33, 0.34, 0.35])
    #expect(ParameterGrid.refinement(around: 3, spacing: 1, integral: true) == [2, 4])
    #expect(
      ParameterGrid.refinement(around: 50, spacing: 10, integral: true)
        == [45, 46, 47, 48, 49, 51, 52, 53, 54, 55])
  }

  @Test func refinesEveryTunedParameterOfTheBest() throws {
    let space = try SearchSpace(
      json5: """
        { tune: {
          preprocessors: [{ type: "spatial-smoothing", window: { from: 2, to: 7, step: 1 } }],
          postprocessors: [{ oneOf: [null, { type: "high-confidence", cutoff: [0.1, 0.2, 0.3] }] }],
        } }
        """, file: "t.json5", folder: URL(fileURLWithPath: "/tmp"))
    #expect(space.candidates.count == 6 * 4)
    let best = try #require(
      space.candidates.first {
        $0.key == "spatial-smoothing {window: 3} | high-confidence {cutoff: 0.3}"
      })
    let tuner = Tuner(space: space, classifier: TableClassifier())
    let finer = tuner.refinement(around: best)
    #expect(finer.count == 3 * 11 - 1)
    #expect(!finer.contains { $0.key == best.key })
    #expect(
      finer.contains { $0.key == "spatial-smoothing {window: 4} | high-confidence {cutoff: 0.35}" })
    #expect(!finer.contains { $0.key.contains("window: 5") })
  }

  @Test func splitsTheSampleWithoutOverlapAndKeepsPairs() {
    let clean = ImageBatch(
      shape: ImageShape(height: 1, width: 1, channels: 1),
      pixels: (0..<100).map { Float($0) }, labels: (0..<100).map { $0 % 4 })
    var adversarial = clean
    adversarial.pixels = clean.pixels.map { $0 + 1_000 }
    let sample = TuningSample(
      clean: clean, adversarial: adversarial, paired: true, count: 40, fitFraction: 0.25, seed: 5)
    #expect(sample.fitClean.count == 10 && sample.clean.count == 30)
    #expect(Set(sample.fitClean.pixels).isDisjoint(with: sample.clean.pixels))
    #expect(sample.fitAdversarial.pixels == sample.fitClean.pixels.map { $0 + 1_000 })
    #expect(sample.adversarial.pixels == sample.clean.pixels.map { $0 + 1_000 })
    // Stratified: 10 of each class drawn, then a quarter of each class kept for fitting.
    #expect(sample.fitClean.classCounts.reduce(0, +) == 10)
    #expect(sample.fitClean.classCounts.count == sample.clean.classCounts.count)
    #expect(zip(sample.fitClean.classCounts, sample.clean.classCounts).allSatisfy { $0 + $1 == 10 })
  }

  @Test func fitsFittedPostprocessorsOnTheFitPartAndReusesClassifierPasses() throws {
    var registry = DefenseRegistry.standard
    try registry.register(Relabel.self)
    try registry.register(Remap.self)
    let scratch = try ScratchFolder("bulwark-tuner")
    let folder = scratch.url("absent")
    let space = try DefenseRegistry.$current.withValue(registry) {
      try SearchSpace(
        json5: """
          { tune: {
            preprocessors: [{ oneOf: [null, { type: "test-remap" }] }],
            postprocessors: [{ oneOf: [null, { type: "test-relabel", passes: [1, 2] }] }],
          } }
          """, file: "t.json5", folder: folder)
    }
    #expect(space.fitFraction == 0.5)
    // The classifier calls about 0.5 class 1 and about 0 class 0; the labels say the
    // opposite. The offsets make every image distinct, so the fit part is told apart by
    // fingerprint.
    let clean = TableClassifier.batch(
      (0..<20).map { index in
        let offset = Float(index) * 0.001
        return index % 2 == 0 ? (0.5 + offset, 0) : (offset, 1)
      })
    let data = PipelineDescription.Data(clean: clean, adversarial: clean, fromCache: false)
    let tuner = Tuner(space: space, classifier: TableClassifier(), threads: 2)
    let outcome = try tuner.run(
      data: data, options: Tuner.Options(folder: folder, fileHash: "x"))
    #expect(outcome.ranked.count == 6)
    #expect(outcome.sampleImages.evaluation == 20 && outcome.sampleImages.fit == 20)
    for result in outcome.ranked {
      let fitted = result.key.contains("test-relabel")
      #expect(result.clean.correct == (fitted ? 10 : 0), "\(result.key)")
      #expect(result.clean.total == 10)
    }
    // Passes 0 and 1 for each of the two preprocessings.
    #expect(outcome.statistics.classifierPasses == 4)
    #expect(outcome.winner.key == "none | test-relabel {passes: 1}")
    // The full sets without the 10 images of the fit part, which the winner learnt from.
    #expect(outcome.winner.full?.clean.correct == 10 && outcome.winner.full?.clean.total == 10)
    #expect(
      outcome.winner.full?.adversarial.correct == 10
        && outcome.winner.full?.adversarial.total == 10)
    #expect(outcome.excludedImages == (10, 10) && outcome.fullImages == (10, 10))
  }
}
