import BulwarkBoosting
import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkDefenses

@Suite struct DistributionClassifierTests {
  /// Small trees so that a few dozen rows can split.
  static let small = BoostingParameters(
    learningRate: 0.3, numLeaves: 4, minDataInLeaf: 1, minSumHessianInLeaf: 0, rounds: 20)

  /// A separable two-class problem: class 0 has p0 in 0.6...0.95, class 1 in 0.05...0.4.
  static func separable(count: Int) -> (Probabilities, [Int]) {
    var values: [Float] = []
    var labels: [Int] = []
    for index in 0..<count {
      let label = index % 2
      let offset = 0.35 * Float(index) / Float(count)
      let p0 = label == 0 ? 0.6 + offset : 0.4 - offset
      values += [p0, 1 - p0]
      labels.append(label)
    }
    return (Probabilities(rows: count, columns: 2, values: values), labels)
  }

  /// Two classes, three passes, four bins: [0, .25), [.25, .5), [.5, .75), [.75, 1].
  @Test func countsPassesIntoHistogramsPerClass() throws {
    let classifier = try DistributionClassifier(features: .distribution, passes: 3, bins: 4)
    let passes = [
      Probabilities(rows: 2, columns: 2, values: [0.1, 0.9, 0.5, 0.5]),
      Probabilities(rows: 2, columns: 2, values: [0.3, 0.7, 1.0, 0.0]),
      Probabilities(rows: 2, columns: 2, values: [0.2, 0.8, 0.74, 0.26]),
    ]
    let rows = try classifier.featureRows(passes)
    let third = 1.0 / 3
    // Image 0: class 0 saw 0.1, 0.3, 0.2 -> bins 0, 1, 0; class 1 saw 0.9, 0.7, 0.8 -> 3, 2, 3.
    // Image 1: class 0 saw 0.5, 1.0, 0.74 -> bins 2, 3, 2; class 1 saw 0.5, 0, 0.26 -> 2, 0, 1.
    let expected: [Double] = [
      2 * third, third, 0, 0, 0, 0, third, 2 * third,
      0, 0, 2 * third, third, third, third, third, 0,
    ]
    expectClose(rows, expected, tolerance: 1e-12)
    #expect(classifier.featureCount(classes: 2) == 8)
    #expect(classifier.passesPerImage == 3)
  }

  @Test func softmaxFeaturesAreTheProbabilities() throws {
    let classifier = try DistributionClassifier()
    let table = Probabilities(rows: 1, columns: 3, values: [0.25, 0.5, 0.25])
    #expect(try classifier.featureRows([table]) == [0.25, 0.5, 0.25])
    #expect(classifier.passesPerImage == 1)
    #expect(classifier.boosting.numLeaves == 81 && classifier.boosting.rounds == 50)
    #expect(classifier.boosting.learningRate == 0.1)
  }

  @Test func fitsAndClassifiesASeparableProblem() throws {
    let (table, labels) = Self.separable(count: 40)
    var classifier = try DistributionClassifier(boosting: Self.small)
    #expect(!classifier.isFitted)
    try classifier.fit(passes: [table], labels: labels)
    #expect(classifier.isFitted)
    let (test, testLabels) = Self.separable(count: 10)
    let predicted = try classifier.process(test).predictedClasses
    #expect(predicted == testLabels.map { Optional($0) })
  }

  @Test func savedModelGivesIdenticalProbabilities() throws {
    let (table, labels) = Self.separable(count: 40)
    var classifier = try DistributionClassifier(boosting: Self.small)
    try classifier.fit(passes: [table], labels: labels)
    let model = try #require(classifier.model)
    var loaded = try DistributionClassifier(boosting: Self.small)
    loaded.loadModel(try BoostedTrees(modelText: model.modelText()))
    #expect(try loaded.process(table) == classifier.process(table))
  }

  @Test func refusesToClassifyBeforeFitting() throws {
    let classifier = try DistributionClassifier()
    let table = Probabilities(rows: 1, columns: 2, values: [0.5, 0.5])
    #expect(throws: DistributionClassifierError.notFitted) { try classifier.process(table) }
    #expect(classifier.requiresFitting)
    #expect(
      DistributionClassifierError.notFitted.description.contains("fit it or load its model first"))
  }

  @Test func rejectsPassesOfTheWrongCountOrShape() throws {
    let classifier = try DistributionClassifier(features: .distribution, passes: 2, bins: 2)
    let table = Probabilities(rows: 1, columns: 2, values: [0.5, 0.5])
    let other = Probabilities(rows: 2, columns: 2, values: [0.5, 0.5, 0.5, 0.5])
    #expect(throws: DistributionClassifierError.self) { try classifier.featureRows([table]) }
    #expect(throws: DistributionClassifierError.self) {
      try classifier.featureRows([table, other])
    }
  }

  @Test func rejectsAModelOfTheWrongFeatureCount() throws {
    let (table, labels) = Self.separable(count: 40)
    var softmax = try DistributionClassifier(boosting: Self.small)
    try softmax.fit(passes: [table], labels: labels)
    var histograms = try DistributionClassifier(features: .distribution, passes: 2, bins: 4)
    histograms.loadModel(try #require(softmax.model))
    #expect(throws: DistributionClassifierError.self) {
      try histograms.process(passes: [table, table])
    }
  }

  @Test func earlyStoppingHoldsOutAValidationShare() throws {
    let (table, labels) = Self.separable(count: 60)
    var parameters = Self.small
    parameters.earlyStoppingRounds = 3
    var classifier = try DistributionClassifier(boosting: parameters, validFraction: 0.25)
    try classifier.fit(passes: [table], labels: labels)
    let model = try #require(classifier.model)
    #expect(model.bestIteration != nil)
  }

  static let invalid: [(String, String)] = [
    ("{ features: \"histogram\" }", "features"),
    ("{ passes: 1 }", "passes"),
    ("{ bins: 1 }", "bins"),
    ("{ numLeaves: 1 }", "numLeaves"),
    ("{ learningRate: 0 }", "learningRate"),
    ("{ rounds: 0 }", "rounds"),
    ("{ validFraction: 1 }", "validFraction"),
  ]

  @Test(arguments: invalid)
  func namesTheParameterOutOfRange(json: String, parameter: String) throws {
    let text = json.replacingOccurrences(of: "{ ", with: "{\"").replacingOccurrences(
      of: ":", with: "\":")
    do {
      _ = try JSONDecoder().decode(DistributionClassifier.self, from: Data(text.utf8))
      Issue.record("decoded \(json)")
    } catch let error as DefenseParameterError {
      #expect(error.parameter == parameter)
      #expect(error.stage == "distribution-classifier")
    }
  }
}
