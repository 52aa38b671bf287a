import BulwarkData
import Testing

@testable import BulwarkModel

@Suite struct AttackTests {
  /// The halves network after a few epochs, and a fresh batch to attack.
  static func trained(threads: Int = 1) throws -> (Network, ImageBatch) {
    var network = try Network(
      architecture: Fixtures.halvesArchitecture, seed: 4, options: ComputeOptions(threads: threads))
    var optimizer = SGD(learningRate: 0.1, momentum: 0.9)
    let trainer = Trainer(batchSize: 16, seed: 5)
    let data = Fixtures.halves(count: 64, seed: 3)
    for epoch in 0..<4 {
      _ = try trainer.runEpoch(epoch, network: &network, optimizer: &optimizer, data: data)
    }
    return (network, Fixtures.halves(count: 40, seed: 77))
  }

  static func loss(_ network: Network, _ batch: ImageBatch, labels: [Int]? = nil) throws -> Double {
    try network.lossAndGradients(batch, labels: labels, parameterGradients: false).loss
  }

  @Test func fgsmMovesEveryPixelByEpsilonAndRaisesTheLoss() throws {
    let (network, batch) = try Self.trained()
    let gradient = try network.lossAndGradients(batch, parameterGradients: false).input
    let adversarial = try FGSM(epsilon: 0.1).perturb(batch, classifier: network, targets: nil)
    #expect(adversarial.labels == batch.labels)
    for index in batch.pixels.indices {
      let before = batch.pixels[index]
      let after = adversarial.pixels[index]
      let g = gradient[index]
      if g == 0 {
        #expect(after == before)
      } else {
        let wanted = min(max(before + (g > 0 ? 0.1 : -0.1), 0), 1)
        #expect(abs(after - wanted) < 1e-6)
        #expect(abs(abs(after - before) - 0.1) < 1e-6 || after == 0 || after == 1)
      }
    }
    #expect(try Self.loss(network, adversarial) > Self.loss(network, batch) + 0.05)
  }

  @Test func targetedFGSMLowersTheTargetLoss() throws {
    let (network, batch) = try Self.trained()
    let targets = batch.labels.map { 1 - $0 }
    let adversarial = try FGSM(epsilon: 0.05).perturb(batch, classifier: network, targets: targets)
    #expect(
      try Self.loss(network, adversarial, labels: targets)
        < Self.loss(network, batch, labels: targets))
  }

  @Test(arguments: AttackNorm.allCases)
  func pgdStaysInTheBallAndTheUnitCube(norm: AttackNorm) throws {
    let (network, batch) = try Self.trained()
    let epsilon: Float = norm == .infinity ? 0.1 : 0.5
    let attack = PGD(
      norm: norm, epsilon: epsilon, stepSize: epsilon / 4, steps: 10, randomStart: true, seed: 8)
    let adversarial = try attack.perturb(batch, classifier: network, targets: nil)
    #expect(adversarial.pixels.allSatisfy { $0 >= 0 && $0 <= 1 })
    let size = batch.shape.valueCount
    for image in 0..<batch.count {
      let deltas = (0..<size).map {
        Double(adversarial.pixels[image * size + $0] - batch.pixels[image * size + $0])
      }
      switch norm {
      case .infinity:
        #expect(deltas.allSatisfy { abs($0) <= Double(epsilon) + 1e-6 })
      case .l2:
        #expect(deltas.reduce(0) { $0 + $1 * $1 }.squareRoot() <= Double(epsilon) * (1 + 1e-5))
      }
    }
    #expect(try Self.loss(network, adversarial) > Self.loss(network, batch) + 0.05)
  }

  @Test func pgdIsReproducibleAndIndependentOfThreads() throws {
    let (one, batch) = try Self.trained(threads: 1)
    var two = one
    two.options = ComputeOptions(threads: 2)
    let attack = PGD(norm: .l2, epsilon: 0.5, stepSize: 0.1, steps: 3, seed: 8)
    let first = try attack.perturb(batch, classifier: one, targets: nil)
    let second = try attack.perturb(batch, classifier: two, targets: nil)
    #expect(first.pixels.map(\.bitPattern) == second.pixels.map(\.bitPattern))
    var reseeded = attack
    reseeded.seed = 9
    #expect(try reseeded.perturb(batch, classifier: one, targets: nil).pixels != first.pixels)
    let bim = PGD.bim(epsilon: 0.1, stepSize: 0.02, steps: 3)
    #expect(!bim.randomStart)
  }

  @Test func rejectsBadParametersAndTargets() throws {
    let (network, batch) = try Self.trained()
    #expect(throws: ModelError(field: "epsilon", expected: "a finite value >= 0", found: "-0.1")) {
      try FGSM(epsilon: -0.1).perturb(batch, classifier: network, targets: nil)
    }
    #expect(throws: ModelError(field: "labels", expected: "40 labels", found: "1")) {
      try FGSM(epsilon: 0.1).perturb(batch, classifier: network, targets: [0])
    }
    #expect(throws: ModelError(field: "steps", expected: "a count >= 0", found: "-1")) {
      try PGD(epsilon: 0.1, stepSize: 0.01, steps: -1).perturb(
        batch, classifier: network, targets: nil)
    }
  }
}
