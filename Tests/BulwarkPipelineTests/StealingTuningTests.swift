import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

/// The tuner's stealing objective: the `tune.stealing` section read and checked, and a search
/// that steals every configuration of a tiny victim (`ModelStealingTests`' linear one on 4x4
/// images) and ranks them by what the student did not learn.
@Suite struct StealingTuningTests {
  static func space(_ tune: String) throws(PipelineErrors) -> SearchSpace {
    try SearchSpace(
      json5: "{ tune: { \(tune) } }", file: "t.json5", folder: URL(fileURLWithPath: "/tmp"))
  }

  @Test func readsTheStealingSectionWithItsDefaults() throws {
    let space = try Self.space(
      """
      objective: "stealing", minCleanAccuracy: 0.8,
      stealing: { queries: 500, data: "fashion-mnist:train", measure: "agreement" }
      """)
    #expect(space.objective == .stealing(.agreement))
    #expect(space.objective.name == "stealing(agreement)")
    let setup = try #require(space.stealing)
    #expect(setup.queries == 500 && setup.data.description == "fashion-mnist:train")
    #expect(setup.variant == .labels && setup.architecture == "lenet5")
    #expect(setup.epochs == 10 && setup.batchSize == 64 && setup.learningRate == 0.001)
    #expect(setup.seed == 0)
    let attack = setup.attack(classes: 10)
    #expect(attack.architecture == .lenet5(classes: 10) && attack.epochs == 10)
  }

  @Test(arguments: [
    (
      #"objective: "stealing", minCleanAccuracy: 0.8"#,
      "tune.stealing: the stealing objective needs the attack"
    ),
    (
      #"objective: "stealing", stealing: { queries: 5, data: "fashion-mnist:train" }"#,
      "tune.minCleanAccuracy: the stealing objective needs the clean accuracy"
    ),
    (
      #"stealing: { queries: 5, data: "fashion-mnist:train" }"#,
      "tune.stealing: only the stealing objective runs a stealing attack"
    ),
    (
      #"objective: "stealing", minCleanAccuracy: 0.8, stealing: { data: "fashion-mnist:train" }"#,
      "tune.stealing: missing key queries"
    ),
    (
      #"objective: "stealing", minCleanAccuracy: 0.8, stealing: { queries: 0, data: "fashion-mnist:train" }"#,
      "tune.stealing.queries: expected an integer >= 1, found 0"
    ),
    (
      #"objective: "stealing", minCleanAccuracy: 0.8, stealing: { queries: 5, data: "fashion-mnist:train", measure: "fidelity" }"#,
      "tune.stealing.measure: expected one of student-accuracy, agreement, found \"fidelity\""
    ),
    (
      #"objective: "stealing", minCleanAccuracy: 0.8, stealing: { queries: 5, data: "fashion-mnist:train", epoch: 3 }"#,
      "tune.stealing.epoch: unknown key; did you mean epochs?"
    ),
    (
      #"objective: "stealing", minCleanAccuracy: 0.8, stealing: { queries: 5, data: "absent.npz" }"#,
      "tune.stealing.data: "
    ),
  ])
  func refusesABadStealingSection(_ tune: String, _ message: String) {
    #expect {
      _ = try Self.space(tune)
    } throws: { error in
      "\(error)".contains(message)
    }
  }

  /// Three configurations of the linear victim: undefended, class labels (one-hot answers) and
  /// a reverse sigmoid strong enough to scramble what a probabilistic student learns. The
  /// ranking follows 1 − the student's accuracy on the clean evaluation images, the winner's
  /// student is measured again on the full clean set, and the same seed gives the same results.
  @Test func ranksConfigurationsByWhatTheStudentDidNotLearn() throws {
    let scratch = try ScratchFolder("bulwark-stealing-tune")
    let space = try Self.space(
      """
      objective: "stealing", minCleanAccuracy: 0.9, sample: 60,
      stealing: { queries: 200, data: "fashion-mnist:train", variant: "probabilities" },
      postprocessors: [{ oneOf: [null, { type: "class-labels" },
        { type: "reverse-sigmoid", beta: 1, gamma: [0.1, 1] }] }]
      """)
    let victim = try ModelStealingTests.victim()
    let clean = ModelStealingTests.images(count: 120, seed: 2)
    let data = PipelineDescription.Data(clean: clean, adversarial: clean, fromCache: false)
    let attack = ModelStealing(
      variant: .probabilities, architecture: ModelStealingTests.architecture, epochs: 8,
      batchSize: 16, learningRate: 0.05, seed: 0)
    func run(_ name: String, resume: Bool = false) throws -> TuningOutcome {
      let tuner = Tuner(
        space: space, classifier: victim.classifier, threads: 1,
        stealing: Tuner.Stealing(
          attack: attack, queries: ModelStealingTests.images(count: 200, seed: 1)))
      return try tuner.run(
        data: data,
        options: Tuner.Options(resume: resume, folder: scratch.url(name), fileHash: "x"))
    }
    let outcome = try run("first")
    #expect(outcome.ranked.count == 4)
    for result in outcome.ranked {
      let stolen = try #require(result.stealing, "\(result.key)")
      #expect(stolen.queries == 200 && stolen.answered == 200)
      #expect(stolen.studentAccuracy.total == result.clean.total)
      #expect(result.value(of: space.objective) == 1 - stolen.studentAccuracy.accuracy)
      #expect(result.interval.lower <= result.value(of: space.objective))
      #expect(result.value(of: space.objective) <= result.interval.upper)
    }
    let values = outcome.ranked.map { $0.value(of: space.objective) }
    let feasible = outcome.ranked.map { Tuner.feasible($0, in: space) }
    #expect(feasible.firstIndex(of: false).map { !feasible[$0...].contains(true) } ?? true)
    for (a, b) in zip(outcome.ranked, outcome.ranked.dropFirst())
    where Tuner.feasible(a, in: space) == Tuner.feasible(b, in: space) {
      #expect(a.value(of: space.objective) >= b.value(of: space.objective))
    }
    // The undefended victim is learnt almost perfectly; gamma 1 flattens every answer to
    // nearly uniform and teaches far less.
    let byKey = Dictionary(uniqueKeysWithValues: outcome.ranked.map { ($0.key, $0) })
    let undefended = try #require(byKey["none | none"]?.stealing)
    let flattened = try #require(
      byKey["none | reverse-sigmoid {beta: 1, gamma: 1}"]?.stealing)
    #expect(undefended.studentAccuracy.accuracy > 0.8, "\(values)")
    #expect(flattened.studentAccuracy.accuracy < 0.7, "\(values)")
    #expect(flattened.studentAccuracy.accuracy < undefended.studentAccuracy.accuracy)
    let full = try #require(outcome.winner.fullStealing)
    #expect(full.studentAccuracy.total == clean.count)
    // The same seed, the same figures; a resumed run reads them from its journal.
    for again in [try run("second"), try run("first", resume: true)] {
      #expect(again.ranked.map(\.key) == outcome.ranked.map(\.key))
      #expect(again.ranked.map(\.stealing) == outcome.ranked.map(\.stealing))
      #expect(again.winner.fullStealing == full)
    }
  }
}
