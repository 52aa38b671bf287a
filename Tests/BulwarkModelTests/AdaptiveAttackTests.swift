import BulwarkCore
import BulwarkData
import Testing

@testable import BulwarkModel

/// A classifier that hides its gradient (zero everywhere) and quantises its input: gradient
/// masking, which gradient attacks cannot get through and score-based attacks can.
struct MaskedGradients: Classifier {
  var network: Network
  var inputShape: ImageShape { network.inputShape }
  var classCount: Int { network.classCount }

  func logits(_ batch: ImageBatch) throws -> [Float] {
    var quantised = batch
    quantised.pixels = batch.pixels.map { ($0 * 10).rounded() / 10 }
    return try network.logits(quantised)
  }

  func inputGradient(_ batch: ImageBatch, logitGradient: [Float]) throws -> [Float] {
    [Float](repeating: 0, count: batch.pixels.count)
  }
}

/// APGD, APGD-T, the Square Attack, AutoAttack's sequence and PGD that stops at the first
/// misclassification, on a small ten-class problem: class k has its column k bright.
@Suite struct AdaptiveAttackTests {
  static let shape = ImageShape(height: 4, width: 10, channels: 1)

  static func columns(count: Int, seed: UInt64) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    var pixels: [Float] = []
    var labels: [Int] = []
    for index in 0..<count {
      let label = index % 10
      for _ in 0..<4 {
        for column in 0..<10 {
          pixels.append((column == label ? 0.65 : 0.25) + 0.2 * generator.unitFloat())
        }
      }
      labels.append(label)
    }
    return ImageBatch(shape: shape, pixels: pixels, labels: labels)
  }

  static let architecture = Architecture(
    input: shape, classes: 10,
    layers: [.flatten, .linear("fc1", 40, 24), .relu, .linear("fc2", 24, 10)])

  /// A network trained for a few epochs, on clean images or on PGD examples made against the
  /// current weights each epoch (a small adversarially trained model).
  static func trained(adversarially: Bool = false, threads: Int = 1) throws -> Network {
    var network = try Network(
      architecture: architecture, seed: 2, options: ComputeOptions(threads: threads))
    var optimizer = Adam(learningRate: 0.01)
    let trainer = Trainer(batchSize: 20, seed: 3)
    let data = columns(count: 200, seed: 1)
    for epoch in 0..<12 {
      var epochData = data
      if adversarially, epoch >= 2 {
        epochData = try PGD(epsilon: 0.1, stepSize: 0.03, steps: 5, seed: UInt64(epoch))
          .perturb(data, classifier: network, targets: nil)
      }
      _ = try trainer.runEpoch(epoch, network: &network, optimizer: &optimizer, data: epochData)
    }
    return network
  }

  static func correct(_ classifier: any Classifier, _ batch: ImageBatch) throws -> Int {
    try classifier.attackSucceeded(on: batch, targets: nil).count { !$0 }
  }

  /// Each attack with its ball: L2 balls are larger, since the L2 Square Attack needs more room
  /// than APGD on these 40-pixel images.
  static let attacks: [(name: String, ball: PerturbationBall, attack: any Attack)] = [
    ("apgd-ce inf", .init(norm: .infinity, epsilon: 0.1), APGD(epsilon: 0.1, steps: 20, seed: 1)),
    (
      "apgd-dlr inf", .init(norm: .infinity, epsilon: 0.1),
      APGD(epsilon: 0.1, steps: 20, loss: .dlr, seed: 1)
    ),
    (
      "apgd-ce l2", .init(norm: .l2, epsilon: 0.5),
      APGD(norm: .l2, epsilon: 0.5, steps: 20, restarts: 2, seed: 1)
    ),
    (
      "apgd-t inf", .init(norm: .infinity, epsilon: 0.1),
      APGDTargeted(epsilon: 0.1, steps: 10, targetClasses: 3, seed: 1)
    ),
    (
      "square inf", .init(norm: .infinity, epsilon: 0.1),
      SquareAttack(epsilon: 0.1, queries: 60, seed: 1)
    ),
    (
      "square l2", .init(norm: .l2, epsilon: 1),
      SquareAttack(norm: .l2, epsilon: 1, queries: 60, seed: 1)
    ),
    (
      "auto inf", .init(norm: .infinity, epsilon: 0.1),
      AutoAttack(epsilon: 0.1, steps: 10, targetClasses: 2, queries: 30, seed: 1)
    ),
    (
      "hopskipjump l2", .init(norm: .l2, epsilon: 1),
      HopSkipJump(norm: .l2, epsilon: 1, iterations: 8, initialEvaluations: 20, queries: 300)
    ),
    (
      "hopskipjump inf", .init(norm: .infinity, epsilon: 0.15),
      HopSkipJump(epsilon: 0.15, iterations: 8, initialEvaluations: 20, queries: 300)
    ),
    (
      "pgd stop inf", .init(norm: .infinity, epsilon: 0.1),
      PGD(epsilon: 0.1, stepSize: 0.02, steps: 10, stopAtMisclassification: true)
    ),
  ]

  @Test(arguments: attacks.indices)
  func staysInItsBallAndTheBox(attack index: Int) throws {
    let (name, ball, attack) = Self.attacks[index]
    let network = try Self.trained()
    let batch = Self.columns(count: 20, seed: 9)
    let adversarial = try attack.perturb(batch, classifier: network, targets: nil)
    #expect(adversarial.labels == batch.labels, "\(name)")
    #expect(adversarial.pixels.count == batch.pixels.count, "\(name)")
    #expect(adversarial.pixels.allSatisfy { $0 >= 0 && $0 <= 1 }, "\(name)")
    let size = Self.shape.valueCount
    for image in 0..<batch.count {
      let deltas = (image * size..<(image + 1) * size).map {
        Double(adversarial.pixels[$0] - batch.pixels[$0])
      }
      let length =
        ball.norm == .l2
        ? deltas.reduce(0) { $0 + $1 * $1 }.squareRoot() : deltas.map(abs).max() ?? 0
      #expect(length <= Double(ball.epsilon) + 1e-5, "\(name) image \(image): \(length)")
    }
    // Every attack fools some of the images of this undefended model.
    #expect(try Self.correct(network, adversarial) < Self.correct(network, batch), "\(name)")
  }

  @Test(arguments: [AttackNorm.infinity, .l2])
  func squareNeverExceedsItsBudget(norm: AttackNorm) throws {
    let network = try Self.trained(adversarially: true)
    let batch = Self.columns(count: 20, seed: 10)
    let outcome = try SquareAttack(norm: norm, epsilon: norm == .l2 ? 0.3 : 0.05, queries: 15)
      .run(batch, classifier: network, targets: nil)
    let wrongAtFirst = try network.attackSucceeded(on: batch, targets: nil)
    #expect(outcome.queries.count == 20)
    for (used, wrong) in zip(outcome.queries, wrongAtFirst) {
      #expect(used <= 15)
      #expect(wrong ? used == 0 : used >= 1)
    }
    // Robust images spent the whole budget.
    let robust = try network.attackSucceeded(on: outcome.adversarial, targets: nil)
    #expect(zip(robust, outcome.queries).allSatisfy { $0 || $1 == 15 })
  }

  @Test(arguments: [AttackNorm.infinity, .l2])
  func hopSkipJumpNeverExceedsItsBudget(norm: AttackNorm) throws {
    let network = try Self.trained()
    let batch = Self.columns(count: 10, seed: 16)
    let outcome = try HopSkipJump(
      norm: norm, epsilon: 0.5, iterations: 20, initialEvaluations: 30, queries: 120
    ).run(batch, classifier: network, targets: nil)
    #expect(outcome.queries.count == 10)
    #expect(outcome.queries.allSatisfy { $0 <= 120 })
    #expect(outcome.queries.contains { $0 > 60 })
  }

  @Test func givesTheSameImagesWithOneOrTwoThreadsAndTheSameSeed() throws {
    let one = try Self.trained(threads: 1)
    let two = try Self.trained(threads: 2)
    let batch = Self.columns(count: 40, seed: 11)
    for (name, _, attack) in Self.attacks {
      let first = try attack.perturb(batch, classifier: one, targets: nil)
      let again = try attack.perturb(batch, classifier: one, targets: nil)
      let threaded = try attack.perturb(batch, classifier: two, targets: nil)
      #expect(first.pixels == again.pixels, "\(name)")
      #expect(first.pixels == threaded.pixels, "\(name)")
    }
  }

  @Test(arguments: [false, true])
  func apgdLeavesNoMoreCorrectThanPGD40(adversariallyTrained: Bool) throws {
    let network = try Self.trained(adversarially: adversariallyTrained)
    let batch = Self.columns(count: 100, seed: 12)
    let pgd = try PGD(epsilon: 0.1, stepSize: 0.01, steps: 40, seed: 0)
      .perturb(batch, classifier: network, targets: nil)
    let apgd = try APGD(epsilon: 0.1, steps: 100, seed: 0)
      .perturb(batch, classifier: network, targets: nil)
    let (clean, afterPGD, afterAPGD) = (
      try Self.correct(network, batch), try Self.correct(network, pgd),
      try Self.correct(network, apgd)
    )
    #expect(afterAPGD <= afterPGD, "clean \(clean), PGD-40 \(afterPGD), APGD-CE \(afterAPGD)")
    #expect(afterPGD < clean)
  }

  @Test func squareGetsThroughMaskedGradientsThatStopAPGD() throws {
    let masked = MaskedGradients(network: try Self.trained())
    let batch = Self.columns(count: 30, seed: 13)
    let clean = try Self.correct(masked, batch)
    let apgd = try APGD(epsilon: 0.1, steps: 20, seed: 0)
      .perturb(batch, classifier: masked, targets: nil)
    let square = try SquareAttack(epsilon: 0.1, queries: 200, seed: 0)
      .perturb(batch, classifier: masked, targets: nil)
    // A zero gradient leaves APGD at its random start; the Square Attack needs none.
    #expect(try Self.correct(masked, square) < Self.correct(masked, apgd))
    #expect(try Self.correct(masked, square) < clean)
  }

  @Test func autoAttackKeepsTheWorstCasePerImage() throws {
    let network = try Self.trained(adversarially: true)
    let batch = Self.columns(count: 30, seed: 14)
    let outcome = try AutoAttack(epsilon: 0.1, steps: 20, targetClasses: 3, queries: 100)
      .run(batch, classifier: network, targets: nil)
    let fooled = try network.attackSucceeded(on: outcome.adversarial, targets: nil)
    #expect(fooled == outcome.fooledBy.map { $0 != nil })
    let names = Set(outcome.fooledBy.compactMap { $0 })
    #expect(names.isSubset(of: ["clean", "apgd-ce", "apgd-t", "square"]))
    // Each attack ran only on what the ones before it left: no attack is worse than APGD-CE
    // alone.
    let alone = try APGD(epsilon: 0.1, steps: 20).perturb(batch, classifier: network, targets: nil)
    #expect(
      fooled.count { $0 } >= (try network.attackSucceeded(on: alone, targets: nil)).count { $0 })
  }

  @Test func targetedAPGDReachesItsTargets() throws {
    let network = try Self.trained()
    let batch = Self.columns(count: 20, seed: 15)
    let targets = batch.labels.map { ($0 + 1) % 10 }
    let adversarial = try APGD(epsilon: 0.3, steps: 40, seed: 0)
      .perturb(batch, classifier: network, targets: targets)
    let reached = try network.attackSucceeded(on: adversarial, targets: targets)
    #expect(reached.count { $0 } >= 18)
  }

  /// On a linear two-class model whose gradient is the same everywhere, every PGD step moves
  /// every pixel up by the step size; the dark image (16 pixels of 0.4, logit gap 2 Σx − 16 =
  /// −3.2) turns bright after 11 steps of 0.01 (after 10 the gap is 0, a tie, still class 0).
  @Test func pgdStopsAtTheFirstMisclassification() throws {
    let network = try Network(
      architecture: Architecture(
        input: ImageShape(height: 4, width: 4, channels: 1), classes: 2,
        layers: [.flatten, .linear("fc", 16, 2)]),
      parameters: [
        "fc.weight": [Float](repeating: -1, count: 16) + [Float](repeating: 1, count: 16),
        "fc.bias": [8, -8],
      ])
    let batch = ImageBatch(
      shape: ImageShape(height: 4, width: 4, channels: 1),
      pixels: [Float](repeating: 0.4, count: 16), labels: [0])
    let stopping = try PGD(
      epsilon: 0.3, stepSize: 0.01, steps: 40, randomStart: false, stopAtMisclassification: true
    ).perturb(batch, classifier: network, targets: nil)
    let running = try PGD(epsilon: 0.3, stepSize: 0.01, steps: 40, randomStart: false)
      .perturb(batch, classifier: network, targets: nil)
    #expect(stopping.pixels.allSatisfy { abs($0 - 0.51) < 1e-5 }, "\(stopping.pixels)")
    #expect(running.pixels.allSatisfy { abs($0 - 0.7) < 1e-5 }, "\(running.pixels)")
  }

  @Test func fusedLogitsAndGradientEqualTheTwoPasses() throws {
    let network = try Self.trained()
    let batch = Self.columns(count: 37, seed: 17)
    let rowGradient: LogitRowGradient = { image, logits, gradient in
      for column in 0..<10 { gradient[column] = logits[column] * Float(image % 3 + 1) }
    }
    let fused = try network.logitsAndInputGradient(batch, rowGradient: rowGradient)
    let logits = try network.logits(batch)
    #expect(fused.logits == logits)
    let separate = try network.inputGradient(
      batch, logitGradient: Network.rowGradients(logits, classes: 10, rowGradient))
    #expect(fused.input == separate)
  }

  @Test(arguments: [
    (MarginLoss.crossEntropy, false), (.crossEntropy, true), (.dlr, false), (.dlr, true),
  ])
  func lossGradientsMatchFiniteDifferences(loss: MarginLoss, targeted: Bool) {
    let logits: [Float] = [0.3, 2.1, -0.7, 1.2, 0.9]
    var gradient: [Float] = []
    let target = targeted ? 3 : nil
    _ = loss.value(logits[...], label: 1, target: target, gradient: &gradient)
    #expect(gradient.count == logits.count)
    var scratch: [Float] = []
    for index in logits.indices {
      var plus = logits
      plus[index] += 1e-3
      var minus = logits
      minus[index] -= 1e-3
      let numeric =
        (loss.value(plus[...], label: 1, target: target, gradient: &scratch)
          - loss.value(minus[...], label: 1, target: target, gradient: &scratch)) / 2e-3
      #expect(abs(Double(gradient[index]) - numeric) < 1e-3, "\(loss) \(index)")
    }
  }
}
