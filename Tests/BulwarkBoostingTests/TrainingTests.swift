import Foundation
import Testing

@testable import BulwarkBoosting

@Suite struct TrainingTests {
  /// x = 1...40; rows with x <= 21 are class 0. The greedy binner cuts every 3 values
  /// (3.5, 6.5, ..., 21.5, ...), so the best cut is at nextUp(21.5). With initial p0 = 21/40:
  /// G_L = 21 (p0 - 1) = -9.975, H_L = 21 * 2 p0 (1 - p0) = 10.47375, G_R = 9.975,
  /// H_R = 9.47625; gain = G_L^2 / H_L + G_R^2 / H_R - 0 = 9.5 + 10.5 = 20.
  @Test func findsTheHandComputedFirstSplit() throws {
    let x = (1...40).flatMap { [Double($0), 5.0] }
    let y = (1...40).map { $0 <= 21 ? 0 : 1 }
    let p = BoostingParameters(learningRate: 1, numLeaves: 2, minDataInLeaf: 5, rounds: 1)
    let model = try BoostedTrees.fit(
      features: x, rows: 40, columns: 2, labels: y, classes: 2, parameters: p)
    let tree = model.trees[0]
    #expect(tree.splitFeature == [0])
    #expect(tree.threshold == [(21.5 as Double).nextUp])
    #expect(abs(Double(tree.splitGain[0]) - 20) < 1e-5)
    #expect(tree.leafCount == [21, 19])
    let init0 = log(21.0 / 40)
    #expect(abs(tree.leafValue[0] - (9.975 / 10.47375 + init0)) < 1e-6)
    #expect(abs(tree.leafValue[1] - (-9.975 / 9.47625 + init0)) < 1e-6)
    #expect(model.featureInfos == ["[1:40]", "none"])
  }

  @Test func growsIdenticalModelsOnOneAndTwoThreads() throws {
    let (x, y) = Fixtures.softmaxLike(rows: 4200, classes: 3, seed: 7)
    var p = BoostingParameters(numLeaves: 8, rounds: 3, threads: 1)
    let one = try BoostedTrees.fit(
      features: x, rows: 4200, columns: 3, labels: y, classes: 3,
      parameters: p)
    p.threads = 2
    let two = try BoostedTrees.fit(
      features: x, rows: 4200, columns: 3, labels: y, classes: 3,
      parameters: p)
    #expect(one.trees == two.trees)
    #expect(try one.rawScores(x, rows: 4200) == two.rawScores(x, rows: 4200))
    #expect(one.trees.count == 9)  // 3 rounds x 3 classes
    #expect(one.trees.allSatisfy { $0.numLeaves == 8 })
  }

  @Test func stopsEarlyAndKeepsTheBestIteration() throws {
    let (x, y) = Fixtures.softmaxLike(rows: 400, classes: 3, seed: 1)
    // Validation labels are shifted, so the training signal makes validation loss worse.
    let validY = y.prefix(100).map { ($0 + 1) % 3 }
    var iterations: [Int] = []
    let p = BoostingParameters(numLeaves: 4, rounds: 40, earlyStoppingRounds: 3)
    let model = try BoostedTrees.fit(
      features: x, rows: 400, columns: 3, labels: y, classes: 3, parameters: p,
      validation: (Array(x.prefix(300)), Array(validY))
    ) { i, loss in
      iterations.append(i)
      #expect(loss != nil)
    }
    let best = try #require(model.bestIteration)
    #expect(iterations.count == best + 3)
    #expect(model.iterationCount == best)
    #expect(iterations.count < 40)
  }

  @Test func stopsWhenNoTreeCanSplit() throws {
    let x = (0..<30).map(Double.init)
    let y = (0..<30).map { $0 % 3 == 0 ? 1 : 0 }
    let model = try BoostedTrees.fit(
      features: x, rows: 30, columns: 1, labels: y, classes: 2,
      parameters: BoostingParameters(minDataInLeaf: 20))
    #expect(model.iterationCount == 1)
    let p = try model.probabilities([3], rows: 1)
    #expect(abs(p[0] - 20.0 / 30) < 1e-12 && abs(p[1] - 10.0 / 30) < 1e-12)
  }

  @Test(arguments: [
    (BoostingParameters(learningRate: 0), "learningRate"),
    (BoostingParameters(numLeaves: 1), "numLeaves"),
    (BoostingParameters(maxDepth: -2), "maxDepth"),
    (BoostingParameters(minDataInLeaf: -1), "minDataInLeaf"),
    (BoostingParameters(lambdaL2: -.infinity), "lambdaL2"),
    (BoostingParameters(rounds: 0), "rounds"),
    (BoostingParameters(maxBin: 1), "maxBin"),
    (BoostingParameters(featureFraction: 1.5), "featureFraction"),
    (BoostingParameters(baggingFraction: 0), "baggingFraction"),
    (BoostingParameters(threads: -1), "threads"),
  ])
  func rejectsParametersOutOfRange(parameters: BoostingParameters, name: String) {
    #expect {
      try parameters.validate()
    } throws: { error in
      guard case .invalidParameter(let found, _, _) = error as? BoostingError else { return false }
      return found == name
    }
  }

  @Test func rejectsBadInputs() {
    let p = BoostingParameters(rounds: 1)
    #expect(
      throws: BoostingError.invalidInput(
        field: "training labels[1]", expected: "0..<2", found: "2")
    ) {
      try BoostedTrees.fit(
        features: [1, 2], rows: 2, columns: 1, labels: [0, 2], classes: 2,
        parameters: p)
    }
    #expect(
      throws: BoostingError.invalidInput(
        field: "training features", expected: "2 x 1 = 2 values", found: "3")
    ) {
      try BoostedTrees.fit(
        features: [1, 2, 3], rows: 2, columns: 1, labels: [0, 1], classes: 2,
        parameters: p)
    }
    #expect(
      throws: BoostingError.invalidInput(
        field: "training features[row 1, column 0]", expected: "a finite value or NaN",
        found: "inf")
    ) {
      try BoostedTrees.fit(
        features: [1, .infinity], rows: 2, columns: 1, labels: [0, 1],
        classes: 2, parameters: p)
    }
  }

  @Test func samplesReproduciblyForASeed() throws {
    let (x, y) = Fixtures.softmaxLike(rows: 300, classes: 3, seed: 3)
    let p = BoostingParameters(
      numLeaves: 4, rounds: 3, featureFraction: 0.5,
      baggingFraction: 0.7, baggingFrequency: 1, seed: 42)
    let a = try BoostedTrees.fit(
      features: x, rows: 300, columns: 3, labels: y, classes: 3,
      parameters: p)
    let b = try BoostedTrees.fit(
      features: x, rows: 300, columns: 3, labels: y, classes: 3,
      parameters: p)
    #expect(a == b)
  }
}
