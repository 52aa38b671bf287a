import BulwarkData
import BulwarkDefenses
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

/// A preprocessor for tests: every pixel above `ceiling` becomes `ceiling`.
struct Ceiling: RegisteredPreprocessor {
  static let typeName = "test-ceiling"
  var ceiling: Float

  func process(_ batch: ImageBatch) -> ImageBatch {
    var result = batch
    result.pixels = batch.pixels.map { min($0, ceiling) }
    return result
  }
}

/// The worst-case objective on a hand-checked case (`TableClassifier`: pixel 0 and 0.25 are
/// class 0, 0.5 and 0.75 class 1, 1 class 0). The clean set holds four images of class 0 at 0,
/// four of class 1 at 0.75 and two of class 0 at 1; the set made once is the clean set itself,
/// which every configuration classifies as it classifies the clean set. The Square Attack (eps
/// 0.25) against each configuration:
/// - without a stage it moves 0.75 to 1 (class 0) and 1 to 0.75 (class 1): only the four
///   images at 0 survive, worst case 4 / 10, clean 10 / 10, harmonic mean 0.5714;
/// - `test-ceiling {ceiling: 0.75}` maps anything above 0.75 to 0.75: clean loses the two
///   images at 1 (8 / 10), but no attack moves the others (worst case 8 / 10, harmonic mean
///   0.8).
/// The sets made once rank "none" first; the attack made against each configuration reverses
/// that.
@Suite struct WorstCaseTuningTests {
  static let images = TableClassifier.batch(
    Array(repeating: (Float(0), 0), count: 4) + Array(repeating: (Float(0.75), 1), count: 4)
      + Array(repeating: (Float(1), 0), count: 2))

  static func space(objective: String) throws -> SearchSpace {
    var registry = DefenseRegistry.standard
    try registry.register(Ceiling.self)
    return try DefenseRegistry.$current.withValue(registry) {
      try SearchSpace(
        json5: """
          { tune: {
            objective: "\(objective)",
            preprocessors: [{ oneOf: [null, { type: "test-ceiling", ceiling: [0.75] }] }],
          } }
          """, file: "t.json5", folder: URL(fileURLWithPath: "/tmp"))
    }
  }

  static let data = PipelineDescription.Data(
    clean: images,
    adversarialSets: [
      .init(name: "given", images: images, fromCache: nil, attacker: "given set", isPaired: true)
    ])

  static func square() throws -> AdaptiveAttack {
    AdaptiveAttack(
      name: "square",
      settings: try AttackSettings(
        method: "square", epsilon: 0.25, seed: 3, queries: 100, against: .pipeline))
  }

  @Test func reranksTheLeadersAgainstAttacksMadeAgainstEachOfThem() throws {
    let scratch = try ScratchFolder("bulwark-worst-case")
    let tuner = Tuner(
      space: try Self.space(objective: "worst-case-harmonic-mean"),
      classifier: TableClassifier(), threads: 2)
    let options = Tuner.Options(folder: scratch.url("run"), fileHash: "x")
    let outcome = try tuner.run(
      data: Self.data, adaptiveSets: [try Self.square()], options: options)
    #expect(outcome.ranked.map(\.key) == ["test-ceiling {ceiling: 0.75} | none", "none | none"])
    let (ceiling, none) = (outcome.ranked[0], outcome.ranked[1])
    #expect(ceiling.attackedAdaptively && none.attackedAdaptively)
    #expect(ceiling.clean.correct == 8 && ceiling.adversarial.correct == 8)
    #expect(none.clean.correct == 10 && none.adversarial.correct == 4)
    #expect(none.adversarialSets.map(\.name) == ["given", "square"])
    #expect(none.adversarialSets.map(\.counts.correct) == [10, 4])
    #expect(none.adversarialSets.map(\.isAdaptive) == [false, true])
    #expect(none.worstCase?.correct == 4 && none.worstCase?.total == 10)
    expectClose(none.value(of: .worstCaseHarmonicMean), 2 * 0.4 / 1.4, tolerance: 1e-12)
    #expect(ceiling.interval.lower <= 0.8 && 0.8 <= ceiling.interval.upper)
    #expect(outcome.statistics.attackedAdaptively == 2)
    // The winner's full score makes the attack against it on the full clean set.
    let full = try #require(outcome.winner.full)
    #expect(full.adversarialSets.map(\.name) == ["given", "square"])
    #expect(full.worstCase?.correct == 8 && full.clean.correct == 8)

    // A resumed run finds every attack in the journal and redoes none of them.
    var resumed = options
    resumed.resume = true
    let again = try tuner.run(
      data: Self.data, adaptiveSets: [try Self.square()], options: resumed)
    #expect(again.statistics.attackedAdaptively == 0 && again.statistics.evaluated == 0)
    #expect(again.ranked == outcome.ranked)
  }

  @Test func theClassicObjectiveRanksByTheFirstSetAndAttacksNoConfiguration() throws {
    let scratch = try ScratchFolder("bulwark-worst-case")
    let tuner = Tuner(
      space: try Self.space(objective: "harmonic-mean"),
      classifier: TableClassifier(), threads: 1)
    let outcome = try tuner.run(
      data: Self.data, adaptiveSets: [try Self.square()],
      options: Tuner.Options(folder: scratch.url("run"), fileHash: "x"))
    #expect(outcome.ranked.map(\.key) == ["none | none", "test-ceiling {ceiling: 0.75} | none"])
    #expect(outcome.ranked.allSatisfy { !$0.attackedAdaptively })
    #expect(outcome.statistics.attackedAdaptively == 0)
    // The full score still says what an adaptive attacker does to the winner.
    let full = try #require(outcome.winner.full)
    #expect(full.adversarialSets.map(\.score.correct) == [10, 4])
  }

  @Test func marksConfigurationsWhoseIntervalOverlapsTheWinnersAsTies() throws {
    let scratch = try ScratchFolder("bulwark-worst-case")
    let space = try Self.space(objective: "worst-case-harmonic-mean")
    let outcome = try Tuner(space: space, classifier: TableClassifier()).run(
      data: Self.data, adaptiveSets: [try Self.square()],
      options: Tuner.Options(folder: scratch.url("run"), fileHash: "x"))
    // The report reads only the file's name and data sources; the files need only exist.
    for name in ["m.safetensors", "c.npz", "a.npz"] {
      try Data([0]).write(to: scratch.url.appendingPathComponent(name))
    }
    let description = try PipelineDescription(
      json5:
        "{ classifier: { model: 'm.safetensors' }, data: { clean: 'c.npz', adversarial: 'a.npz' } }",
      file: scratch.url.appendingPathComponent("t.json5"), folder: scratch.url)
    let report = TuningReport(outcome: outcome, space: space, description: description)
    let none = outcome.ranked[1]
    // On ten images the intervals are wide: 0.57 against 0.8 is no clear difference.
    #expect(none.interval.overlaps(outcome.winner.interval))
    #expect(report.isTied(none))
    #expect(!report.isTied(outcome.winner))
    let table = report.table(count: 2)
    #expect(table[0].contains("given") && table[0].contains("square") && table[0].contains("Worst"))
    #expect(table[2].hasSuffix("none | none (tie)"))
    let csv = report.csv().split(separator: "\n")
    #expect(csv[0].contains("objective_lower,objective_upper,tie,attacked_adaptively"))
    #expect(csv[0].contains("given_correct,given_total,square_correct,square_total"))
  }

  @Test func aPairedSetLimitedToAPrefixJoinsTheWorstCaseOverThatPrefix() {
    let a = ImageOutcomes(
      Probabilities(rows: 4, columns: 2, values: [1, 0, 0, 1, 1, 0, 0, 0]), labels: [0, 0, 0, 0])
    let b = ImageOutcomes(
      Probabilities(rows: 3, columns: 2, values: [0, 1, 1, 0, 1, 0]), labels: [0, 0, 0])
    // a: right, wrong, right, abstained. b (a prefix of three): wrong, right, right.
    let worst = ImageOutcomes.worstCase([a, b])
    #expect(worst.correct == [false, false, true])
    #expect(worst.counts == TuningResult.Counts(total: 3, correct: 1, abstentions: 0))
    #expect(a.counts == TuningResult.Counts(total: 4, correct: 2, abstentions: 1))
  }
}
