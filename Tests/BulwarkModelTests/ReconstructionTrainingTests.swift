import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// Training an autoencoder to reproduce its input: the binary cross-entropy and its gradient,
/// a falling loss, the same network at 1 and 2 threads, and the checks.
@Suite struct ReconstructionTrainingTests {
  static let shape = ImageShape(height: 8, width: 8, channels: 1)

  /// Images with structure an autoencoder can learn: a bright seeded rectangle on a dark
  /// background, with a little noise.
  static func batch(count: Int, seed: UInt64, shape: ImageShape = shape) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    var pixels: [Float] = []
    for _ in 0..<count {
      let top = Int(generator.next() % 4)
      let left = Int(generator.next() % 4)
      for y in 0..<shape.height {
        for x in 0..<shape.width {
          let inside = (top..<top + 4).contains(y) && (left..<left + 4).contains(x)
          for _ in 0..<shape.channels {
            pixels.append((inside ? 0.85 : 0.05) + 0.1 * generator.unitFloat())
          }
        }
      }
    }
    return ImageBatch(shape: shape, pixels: pixels, labels: [Int](repeating: 0, count: count))
  }

  @Test func lossAndGradientMatchFiniteDifferences() throws {
    let shape = ImageShape(height: 4, width: 4, channels: 2)
    var network = try Network(architecture: .autoencoder(input: shape), seed: 3)
    let batch = Self.batch(count: 3, seed: 4, shape: shape)
    let targets = ReconstructionLoss.channelsFirst(batch.pixels, shape: shape)
    // By hand: -(x log s + (1 - x) log(1 - s)), averaged over every value.
    func direct() throws -> Double {
      let outputs = try network.logits(batch)
      return zip(outputs, targets).reduce(0.0) { total, pair in
        let s = 1 / (1 + exp(-Double(pair.0)))
        let x = Double(pair.1)
        return total - (x * log(s) + (1 - x) * log(1 - s))
      } / Double(outputs.count)
    }
    let loss = ReconstructionLoss.loss(outputs: try network.logits(batch), targets: targets)
    #expect(abs(loss - (try direct())) < 1e-6)
    let gradients = try network.lossAndGradients(
      batch, perRow: ReconstructionLoss.rowGradient(targets: targets, values: 32),
      mode: .evaluation)
    var checker = GradientTests.Checker()
    for name in ["conv5.weight", "conv5.bias", "conv1.bias"] {
      let values = try #require(network.parameter(named: name))
      let gradient = try #require(gradients.parameter(named: name))
      for index in values.indices {
        // Scaled up so the finite differences of a mean over 96 values stay above rounding.
        try checker.check(1000 * gradient[index], "\(name)[\(index)]") { h in
          var moved = values
          moved[index] += h
          try network.setParameter(named: name, to: moved)
          defer { try? network.setParameter(named: name, to: values) }
          return 1000 * (try direct())
        }
      }
    }
    #expect(checker.checked >= 30)
  }

  @Test func trainingLowersTheLoss() throws {
    let data = Self.batch(count: 24, seed: 1)
    var network = try Network(architecture: .autoencoder(input: Self.shape), seed: 2)
    var adam = Adam(learningRate: 0.01)
    let trainer = Trainer(batchSize: 8, seed: 5, reconstructs: true)
    let first = try trainer.runEpoch(0, network: &network, optimizer: &adam, data: data)
    var last = first
    for epoch in 1..<15 {
      last = try trainer.runEpoch(epoch, network: &network, optimizer: &adam, data: data)
    }
    #expect(last.loss < first.loss - 0.05, "loss \(first.loss) -> \(last.loss)")
    #expect(first.accuracy == 0)
  }

  @Test func givesTheSameNetworkAtOneAndTwoThreads() throws {
    let data = Self.batch(count: 40, seed: 9)
    var networks: [Network] = []
    for threads in [1, 2] {
      var network = try Network(
        architecture: .autoencoder(input: Self.shape), seed: 4,
        options: ComputeOptions(threads: threads))
      var adam = Adam(learningRate: 0.01)
      for epoch in 0..<2 {
        _ = try Trainer(batchSize: 40, seed: 6, reconstructs: true).runEpoch(
          epoch, network: &network, optimizer: &adam, data: data)
      }
      networks.append(network)
    }
    #expect(networks[0].parameters == networks[1].parameters)
  }

  @Test func refusesANetworkThatDoesNotReconstruct() throws {
    let data = Self.batch(count: 4, seed: 1)
    var adam = Adam()
    var classifier = try Fixtures.network(
      input: Self.shape, classes: 3, layers: [.flatten, .linear("fc", 64, 3)])
    #expect {
      try Trainer(seed: 0, reconstructs: true).runEpoch(
        0, network: &classifier, optimizer: &adam, data: data)
    } throws: { error in
      "\(error)" == "classes: expected one output per input value (64) to reconstruct, found 3"
    }
    var autoencoder = try Network(architecture: .autoencoder(input: Self.shape), seed: 0)
    #expect {
      try Trainer(
        seed: 0, adversarial: .fgsmRandomStart(epsilon: 0.1, stepSize: 0.1), reconstructs: true
      ).runEpoch(0, network: &autoencoder, optimizer: &adam, data: data)
    } throws: { error in
      "\(error)"
        == "reconstructs: expected no target probabilities or adversarial training, found "
        + "adversarial training"
    }
  }
}
