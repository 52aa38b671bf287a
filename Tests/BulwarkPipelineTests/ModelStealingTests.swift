import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import Foundation
import Testing

@testable import BulwarkPipeline

/// Model stealing (CopycatCNN and its probabilistic variant) on a tiny problem: a linear victim
/// on 4x4 images whose class is their brightness, a linear student of the same shape.
@Suite struct ModelStealingTests {
  static let shape = ImageShape(height: 4, width: 4, channels: 1)
  static let architecture = Architecture(
    input: shape, classes: 2, layers: [Layer(.flatten), .linear("fc", 16, 2)])

  /// The victim: class 1 when the image's mean is above 1/2.
  static func victim(_ postprocessors: [any Postprocessor] = []) throws -> Pipeline {
    let network = try Network(
      architecture: architecture,
      parameters: [
        "fc.weight": [Float](repeating: -1, count: 16) + [Float](repeating: 1, count: 16),
        "fc.bias": [8, -8],
      ])
    return Pipeline(classifier: network, postprocessors: postprocessors)
  }

  /// Images of seeded brightness in [0.2, 0.8] with noise, labelled by their mean.
  static func images(count: Int, seed: UInt64) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    var pixels: [Float] = []
    var labels: [Int] = []
    for _ in 0..<count {
      let level = 0.2 + 0.6 * generator.unitFloat()
      let image = (0..<16).map { _ in min(1, max(0, level + 0.2 * (generator.unitFloat() - 0.5))) }
      labels.append(image.reduce(0, +) / 16 > 0.5 ? 1 : 0)
      pixels += image
    }
    return ImageBatch(shape: shape, pixels: pixels, labels: labels)
  }

  static func steal(
    _ variant: ModelStealing.Variant, from victim: Pipeline, seed: UInt64 = 0
  ) throws -> ModelStealing.Outcome {
    try ModelStealing(
      variant: variant, architecture: architecture, epochs: 8, batchSize: 16,
      learningRate: 0.05, seed: seed
    ).run(
      victim: victim, queries: images(count: 200, seed: 1), test: images(count: 300, seed: 2),
      options: ComputeOptions(threads: 1))
  }

  @Test(arguments: ModelStealing.Variant.allCases)
  func copiesAnUndefendedVictimAndIsSeeded(variant: ModelStealing.Variant) throws {
    let victim = try Self.victim()
    let first = try Self.steal(variant, from: victim)
    let report = first.report
    #expect(report.queries == 200 && report.answered == 200 && report.testImages == 300)
    #expect(report.agreement.total == 300)
    #expect(report.agreement.share > 0.9, "agreement \(report.agreement.share)")
    #expect(report.victimAccuracy.share > 0.95)
    // The same seed gives the same student and figures; another seed another student.
    let again = try Self.steal(variant, from: victim)
    #expect(again.student.weights == first.student.weights)
    var same = again.report
    same.seconds = report.seconds
    #expect(same == report)
    #expect(
      try Self.steal(variant, from: victim, seed: 1).student.weights != first.student.weights)
  }

  /// Class labels leave the labels variant unchanged (it learns the same top classes), and give
  /// the probabilistic variant one-hot rows: the same targets as the labels.
  @Test func classLabelsTeachBothVariantsTheSame() throws {
    let labelled = try Self.victim([ClassLabels()])
    let labels = try Self.steal(.labels, from: labelled)
    #expect(
      try Self.steal(.labels, from: Self.victim()).student.weights == labels.student.weights)
    #expect(
      try Self.steal(.probabilities, from: labelled).student.weights == labels.student.weights
    )
  }

  @Test func dropsAbstainedQueriesAndRefusesAVictimThatAnswersNothing() throws {
    // High confidence at 0.999 abstains on every image near the boundary.
    let picky = try Self.victim([HighConfidence(cutoff: 0.999)])
    let answers = try picky.defendedProbabilities(Self.images(count: 200, seed: 1))
    let answered = (0..<200).count { answers.row($0).contains { $0 != 0 } }
    #expect(answered > 0 && answered < 200)
    let report = try Self.steal(.labels, from: picky).report
    #expect(report.answered == answered)
    #expect(report.agreement.total < 300)
    #expect {
      try Self.steal(.labels, from: Self.victim([HighConfidence(cutoff: 1.5)]))
    } throws: { error in
      "\(error)" == "queries: expected at least one query the victim answers, found 200 abstentions"
    }
  }

  @Test func refusesAStudentThatDoesNotFitTheVictim() throws {
    let other = Architecture(
      input: Self.shape, classes: 3, layers: [Layer(.flatten), .linear("fc", 16, 3)])
    #expect {
      try ModelStealing(variant: .labels, architecture: other).run(
        victim: Self.victim(), queries: Self.images(count: 4, seed: 1),
        test: Self.images(count: 4, seed: 2))
    } throws: { error in
      "\(error)"
        == "student: expected the victim's 4x4x1 input and 2 classes, found 4x4x1 and 3 classes"
    }
  }
}

extension Network {
  /// The linear student's weights and bias, to compare students.
  fileprivate var weights: [Float] {
    (parameter(named: "fc.weight") ?? []) + (parameter(named: "fc.bias") ?? [])
  }
}
