import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// Adversarial training: the TRADES objective, robustness gained, and determinism.
@Suite struct AdversarialTrainingTests {
  static let shape = ImageShape(height: 2, width: 3, channels: 2)

  static func smallNetwork(threads: Int = 1) throws -> Network {
    try Fixtures.network(
      input: shape, classes: 3,
      layers: [.flatten, .linear("fc1", 12, 5), .relu, .linear("fc2", 5, 3)], threads: threads)
  }

  /// `mean CE(clean) + β mean KL(p_clean || p_adv)` computed directly from the logits.
  static func tradesLoss(
    _ network: Network, clean: ImageBatch, adversarial: ImageBatch, beta: Double
  )
    throws -> Double
  {
    let classes = network.architecture.classes
    let p = Network.softmax(try network.logits(clean), classes: classes).map(Double.init)
    let q = Network.softmax(try network.logits(adversarial), classes: classes).map(Double.init)
    var total = 0.0
    for row in 0..<clean.count {
      total -= log(p[row * classes + clean.labels[row]])
      for column in 0..<classes {
        let index = row * classes + column
        total += beta * p[index] * log(p[index] / q[index])
      }
    }
    return total / Double(clean.count)
  }

  @Test func tradesLossAndGradientMatchFiniteDifferences() throws {
    var network = try Self.smallNetwork()
    let clean = ImageBatch(
      shape: Self.shape, pixels: Fixtures.randomPixels(5 * Self.shape.valueCount, seed: 3),
      labels: [0, 1, 2, 1, 0], classNames: ["a", "b", "c"])
    let adversarial = clean.replacingPixels(
      zip(clean.pixels, Fixtures.randomPixels(clean.pixels.count, seed: 4)).map {
        $0 + 0.3 * ($1 - 0.5)
      })
    let beta = 2.5
    let result = try TRADESLoss.lossAndGradients(
      network: network, clean: clean, adversarial: adversarial, beta: beta)
    let direct = try Self.tradesLoss(network, clean: clean, adversarial: adversarial, beta: beta)
    #expect(abs(result.gradients.loss - direct) < 1e-6 * max(1, abs(direct)))
    #expect(result.gradients.logits == (try network.logits(clean)))
    #expect(result.adversarialLogits == (try network.logits(adversarial)))

    var checker = GradientTests.Checker()
    for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
      let values = try #require(network.parameter(named: name))
      let gradient = try #require(result.gradients.parameter(named: name))
      for index in values.indices {
        try checker.check(gradient[index], "\(name)[\(index)]") { h in
          var moved = values
          moved[index] += h
          try network.setParameter(named: name, to: moved)
          defer { try? network.setParameter(named: name, to: values) }
          return try Self.tradesLoss(network, clean: clean, adversarial: adversarial, beta: beta)
        }
      }
    }
    #expect(checker.checked >= 60)
    // With β = 0 the objective is the clean cross-entropy and its gradient.
    let plain = try TRADESLoss.lossAndGradients(
      network: network, clean: clean, adversarial: adversarial, beta: 0)
    let crossEntropy = try network.lossAndGradients(clean)
    #expect(abs(plain.gradients.loss - crossEntropy.loss) < 1e-6)
    for (a, b) in zip(plain.gradients.flatParameters, crossEntropy.flatParameters) {
      #expect(abs(a - b) < 1e-6)
    }
  }

  /// 4x4 images whose label shows twice: in a half-brightness contrast of 0.3 under strong
  /// noise shared by each half (robust to ε 0.1, but only about 90% predictive), and in a
  /// faint checkerboard of amplitude 0.04 under little noise (perfectly predictive, but an ε of
  /// 0.1 reverses it).
  static func robustOrNot(count: Int, seed: UInt64) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    var pixels: [Float] = []
    var labels: [Int] = []
    for index in 0..<count {
      let label = index % 2
      let sign: Float = label == 0 ? 1 : -1
      let halfNoise = [0.6 * (generator.unitFloat() - 0.5), 0.6 * (generator.unitFloat() - 0.5)]
      for row in 0..<4 {
        for column in 0..<4 {
          let half: Float = (column < 2 ? 0.15 : -0.15) * sign + halfNoise[column / 2]
          let checker: Float = ((row + column) % 2 == 0 ? 0.04 : -0.04) * sign
          let noise = 0.02 * (generator.unitFloat() - 0.5)
          pixels.append(min(max(0.5 + half + checker + noise, 0), 1))
        }
      }
      labels.append(label)
    }
    return ImageBatch(
      shape: ImageShape(height: 4, width: 4, channels: 1), pixels: pixels, labels: labels,
      classNames: ["left", "right"])
  }

  static func train(_ adversarial: AdversarialTraining?, threads: Int = 1) throws -> Network {
    var network = try Network(
      architecture: Architecture(
        input: ImageShape(height: 4, width: 4, channels: 1), classes: 2,
        layers: [.flatten, .linear("fc1", 16, 8), .relu, .linear("fc2", 8, 2)]),
      seed: 11, options: ComputeOptions(threads: threads))
    var optimizer = Adam(learningRate: 0.01)
    let trainer = Trainer(batchSize: 32, seed: 2, adversarial: adversarial)
    let data = robustOrNot(count: 256, seed: 5)
    for epoch in 0..<25 {
      _ = try trainer.runEpoch(epoch, network: &network, optimizer: &optimizer, data: data)
    }
    return network
  }

  static func robustAccuracy(_ network: Network, _ test: ImageBatch) throws -> Double {
    let attack = PGD(epsilon: 0.1, stepSize: 0.025, steps: 20, seed: 1)
    let adversarial = try attack.perturb(test, classifier: network, targets: nil)
    return Double(try network.attackSucceeded(on: adversarial, targets: nil).count { !$0 })
      / Double(test.count)
  }

  @Test func aPGDTrainedModelIsMoreRobustThanItsStandardTwin() throws {
    let test = Self.robustOrNot(count: 200, seed: 77)
    let standard = try Self.train(nil)
    let hardened = try Self.train(.pgd(epsilon: 0.1, steps: 5, stepSize: 0.03))
    let standardRobust = try Self.robustAccuracy(standard, test)
    let hardenedRobust = try Self.robustAccuracy(hardened, test)
    #expect(hardenedRobust >= standardRobust + 0.2, "\(hardenedRobust) vs \(standardRobust)")
    let clean = Double(try hardened.attackSucceeded(on: test, targets: nil).count { !$0 }) / 200
    #expect(clean >= 0.7, "\(clean)")
  }

  @Test(arguments: [
    AdversarialTraining.pgd(epsilon: 0.1, steps: 2, stepSize: 0.05),
    .fgsmRandomStart(epsilon: 0.1, stepSize: 0.125), .natural(epsilon: 0.1, ratio: 0.5),
    .trades(epsilon: 0.1, steps: 2, stepSize: 0.05, beta: 3),
  ])
  func trainsIdenticallyOnOneAndTwoThreads(_ method: AdversarialTraining) throws {
    let data = Fixtures.halves(count: 40, seed: 3)
    var results: [[Float]] = []
    var reports: [EpochReport] = []
    for threads in [1, 2] {
      var network = try Fixtures.network(
        input: ImageShape(height: 4, width: 4, channels: 1), classes: 2,
        layers: [
          .conv2d("conv", 1, 2, kernel: 3, padding: 1), .batchNorm2d("bn", 2), .relu, .flatten,
          .dropout(0.2), .linear("fc", 32, 2),
        ], threads: threads)
      var optimizer = Adam(learningRate: 0.01)
      let trainer = Trainer(batchSize: 20, seed: 5, adversarial: method)
      for epoch in 0..<2 {
        reports.append(
          try trainer.runEpoch(epoch, network: &network, optimizer: &optimizer, data: data))
      }
      results.append(network.parameters)
    }
    #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern))
    #expect(reports[0].adversarialAccuracy != nil)
    #expect(reports[1].loss == reports[3].loss)
  }

  @Test func refusesInvalidParameters() throws {
    #expect(throws: ModelError.self) {
      try AdversarialTraining.pgd(epsilon: 0.1, steps: 0, stepSize: 0.1).check()
    }
    #expect(throws: ModelError.self) {
      try AdversarialTraining.natural(epsilon: 0.1, ratio: 1.5).check()
    }
    #expect(throws: ModelError.self) {
      try AdversarialTraining.trades(epsilon: .nan, steps: 3, stepSize: 0.1, beta: 1).check()
    }
    #expect(throws: ModelError.self) {
      try AdversarialTraining.trades(epsilon: 0.1, steps: 3, stepSize: 0.1, beta: -1).check()
    }
    #expect(
      AdversarialTraining.pgd(epsilon: 0.1, steps: 7, stepSize: 0.025).description
        == "pgd eps=0.1 steps=7 step=0.025")
  }
}
