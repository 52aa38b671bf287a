import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// Training on target probabilities (knowledge distillation, the probabilistic CopycatCNN): the
/// loss and its gradient, one-hot targets against labels, and bad targets.
@Suite struct SoftTargetTrainingTests {
  static let shape = AdversarialTrainingTests.shape

  static func batch(count: Int, seed: UInt64) -> ImageBatch {
    ImageBatch(
      shape: shape, pixels: Fixtures.randomPixels(count * shape.valueCount, seed: seed),
      labels: (0..<count).map { $0 % 3 }, classNames: ["a", "b", "c"])
  }

  /// Seeded rows of 3 probabilities, one of them off its sum (a rounded answer).
  static func targets(count: Int, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    var values: [Float] = []
    for _ in 0..<count {
      let row = (0..<3).map { _ in generator.unitFloat() + 0.05 }
      let sum = row.reduce(0, +)
      values += row.map { $0 / sum }
    }
    values[0] += 0.01
    return values
  }

  @Test func lossAndGradientMatchFiniteDifferences() throws {
    var network = try AdversarialTrainingTests.smallNetwork()
    let batch = Self.batch(count: 5, seed: 7)
    let targets = Self.targets(count: 5, seed: 8)
    let classes = 3
    // By hand: -Σ t log softmax(z), averaged over rows.
    func direct() throws -> Double {
      let p = Network.softmax(try network.logits(batch), classes: classes)
      return zip(p, targets).reduce(0) { $0 - Double($1.1) * log(Double($1.0)) } / 5
    }
    let logits = try network.logits(batch)
    let expected = try direct()
    #expect(
      abs(SoftTargetLoss.loss(logits: logits, targets: targets, classes: classes) - expected)
        < 1e-6)
    let gradients = try network.lossAndGradients(
      batch,
      perRow: SoftTargetLoss.rowGradient(targets: targets, classes: classes, scale: 1.0 / 5),
      mode: .evaluation)
    var checker = GradientTests.Checker()
    for name in ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"] {
      let values = try #require(network.parameter(named: name))
      let gradient = try #require(gradients.parameter(named: name))
      for index in values.indices {
        try checker.check(gradient[index], "\(name)[\(index)]") { h in
          var moved = values
          moved[index] += h
          try network.setParameter(named: name, to: moved)
          defer { try? network.setParameter(named: name, to: values) }
          return try direct()
        }
      }
    }
    #expect(checker.checked >= 60)
  }

  /// One-hot targets are the labels: the same steps, bit for bit.
  @Test func oneHotTargetsTrainAsTheLabels() throws {
    let data = Self.batch(count: 40, seed: 11)
    let oneHot = data.labels.flatMap { label in (0..<3).map { $0 == label ? Float(1) : 0 } }
    var withLabels = try AdversarialTrainingTests.smallNetwork()
    var withTargets = withLabels
    var adamA = Adam(learningRate: 0.01)
    var adamB = Adam(learningRate: 0.01)
    for epoch in 0..<2 {
      let a = try Trainer(batchSize: 8, seed: 3).runEpoch(
        epoch, network: &withLabels, optimizer: &adamA, data: data)
      let b = try Trainer(batchSize: 8, seed: 3, targets: oneHot).runEpoch(
        epoch, network: &withTargets, optimizer: &adamB, data: data)
      #expect(abs(a.loss - b.loss) < 1e-9)
      #expect(a.accuracy == b.accuracy)
    }
    #expect(withLabels.parameters == withTargets.parameters)
  }

  @Test func softTargetsPullTheOutputsTowardsThem() throws {
    let data = Self.batch(count: 24, seed: 5)
    let targets = Self.targets(count: 24, seed: 6)
    var network = try AdversarialTrainingTests.smallNetwork()
    let before = SoftTargetLoss.loss(
      logits: try network.logits(data), targets: targets, classes: 3)
    var adam = Adam(learningRate: 0.02)
    for epoch in 0..<30 {
      _ = try Trainer(batchSize: 8, seed: 1, targets: targets).runEpoch(
        epoch, network: &network, optimizer: &adam, data: data)
    }
    let after = SoftTargetLoss.loss(logits: try network.logits(data), targets: targets, classes: 3)
    #expect(after < before - 0.05, "loss \(before) -> \(after)")
  }

  @Test func refusesBadTargets() throws {
    let data = Self.batch(count: 4, seed: 1)
    var network = try AdversarialTrainingTests.smallNetwork()
    var adam = Adam()
    let cases: [(Trainer, String)] = [
      (
        Trainer(seed: 0, targets: [0.5, 0.5]), "targets: expected 12 values (4 images x 3), found 2"
      ),
      (
        Trainer(seed: 0, targets: [0.2, .nan] + [Float](repeating: 0.3, count: 10)),
        "targets[0][1]: expected a finite probability >= 0, found nan"
      ),
      (
        Trainer(
          seed: 0, adversarial: .fgsmRandomStart(epsilon: 0.1, stepSize: 0.1),
          targets: [Float](repeating: 0.3, count: 12)),
        "targets: expected labels with adversarial training, found target probabilities"
      ),
    ]
    for (trainer, message) in cases {
      #expect {
        try trainer.runEpoch(0, network: &network, optimizer: &adam, data: data)
      } throws: { error in
        "\(error)" == message
      }
    }
  }
}
