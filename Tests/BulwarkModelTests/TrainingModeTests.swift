import BulwarkCore
import BulwarkData
import Testing

@testable import BulwarkModel

/// Training mode: batch norm on batch statistics with PyTorch's running-average update, and
/// dropout with seeded masks.
@Suite struct TrainingModeTests {
  /// Batch norm on one channel of 1x2 planes, followed by an identity layer, so the logits are
  /// the normalised values.
  static func batchNormNetwork(threads: Int = 1) throws -> Network {
    var network = try Network(
      architecture: Architecture(
        input: ImageShape(height: 1, width: 2, channels: 1), classes: 2,
        layers: [.batchNorm2d("bn", 1), .flatten, .linear("fc", 2, 2)]),
      seed: 0, options: ComputeOptions(threads: threads))
    try network.setParameter(named: "fc.weight", to: [1, 0, 0, 1])
    try network.setParameter(named: "fc.bias", to: [0, 0])
    try network.setParameter(named: "bn.weight", to: [2])
    try network.setParameter(named: "bn.bias", to: [0.5])
    try network.setParameter(named: "bn.running_mean", to: [0.5])
    try network.setParameter(named: "bn.running_var", to: [2])
    return network
  }

  /// Two images, values {1, 2} and {3, 6}: mean 3, biased variance 14/4 = 3.5, unbiased 14/3.
  static let twoImages = ImageBatch(
    shape: ImageShape(height: 1, width: 2, channels: 1), pixels: [1, 2, 3, 6], labels: [0, 1],
    classNames: ["a", "b"])

  @Test func batchNormNormalisesWithTheBatchStatisticsInTraining() throws {
    let network = try Self.batchNormNetwork()
    let training = try network.logits(Self.twoImages, mode: .training(seed: 0))
    let deviation = (3.5 + 1e-5).squareRoot()
    for (value, pixel) in zip(training.logits, [1.0, 2, 3, 6]) {
      #expect(abs(Double(value) - (2 * (pixel - 3) / deviation + 0.5)) < 1e-5)
    }
    #expect(training.batchStatistics["bn.running_mean"] == [3])
    let variance = try #require(training.batchStatistics["bn.running_var"]?.first)
    #expect(abs(Double(variance) - 14.0 / 3) < 1e-6)

    // Evaluation mode uses the running statistics and reports none.
    let evaluation = try network.logits(Self.twoImages, mode: .evaluation)
    #expect(evaluation.batchStatistics.isEmpty)
    let running = (2 + 1e-5).squareRoot()
    for (value, pixel) in zip(evaluation.logits, [1.0, 2, 3, 6]) {
      #expect(abs(Double(value) - (2 * (pixel - 0.5) / running + 0.5)) < 1e-5)
    }
  }

  @Test func runningStatisticsMoveByPyTorchsMomentum() throws {
    var network = try Self.batchNormNetwork()
    let gradients = try network.lossAndGradients(Self.twoImages, mode: .training(seed: 0))
    try network.updateRunningStatistics(with: gradients.batchStatistics)
    // 0.9 x 0.5 + 0.1 x 3 and 0.9 x 2 + 0.1 x 14/3.
    #expect(
      abs(Double(try #require(network.parameter(named: "bn.running_mean")?.first)) - 0.75) < 1e-6)
    #expect(
      abs(Double(try #require(network.parameter(named: "bn.running_var")?.first)) - 34.0 / 15)
        < 1e-6)
    // A second batch moves from there.
    try network.updateRunningStatistics(with: gradients.batchStatistics, momentum: 0.5)
    #expect(
      abs(Double(try #require(network.parameter(named: "bn.running_mean")?.first)) - 1.875) < 1e-6)
    // Trainable tensors are not running statistics.
    #expect(throws: ModelError.self) {
      try network.updateRunningStatistics(with: ["bn.weight": [1]])
    }
  }

  @Test func aBatchOfOneValuePerChannelIsRefusedInTraining() throws {
    let network = try Fixtures.network(
      input: ImageShape(height: 1, width: 1, channels: 2), classes: 2,
      layers: [.batchNorm2d("bn", 2), .flatten, .linear("fc", 2, 2)])
    let one = ImageBatch(
      shape: ImageShape(height: 1, width: 1, channels: 2), pixels: [0.2, 0.4], labels: [1],
      classNames: ["a", "b"])
    #expect(throws: ModelError.self) {
      _ = try network.lossAndGradients(one, mode: .training(seed: 1))
    }
    _ = try network.lossAndGradients(one, mode: .evaluation)
  }

  /// The training-mode loss, batch statistics included, against central differences, for the
  /// input and for every parameter tensor of a conv, batch norm, dropout and linear network.
  @Test func trainingModeGradientsMatchFiniteDifferences() throws {
    let shape = ImageShape(height: 3, width: 3, channels: 2)
    var network = try Fixtures.network(
      input: shape, classes: 3,
      layers: [
        .conv2d("conv", 2, 3, kernel: 2), .batchNorm2d("bn", 3), .flatten,
        .dropout(0.3), .linear("fc", 12, 3),
      ])
    let batch = ImageBatch(
      shape: shape, pixels: Fixtures.randomPixels(4 * shape.valueCount, seed: 8),
      labels: [0, 2, 1, 2], classNames: ["a", "b", "c"])
    let mode = Network.Mode.training(seed: 17)
    let analytic = try network.lossAndGradients(batch, mode: mode)
    var checker = GradientTests.Checker()
    for index in stride(from: 0, to: batch.pixels.count, by: 5) {
      try checker.check(analytic.input[index], "pixel \(index)") { h in
        var pixels = batch.pixels
        pixels[index] += h
        return try network.lossAndGradients(batch.replacingPixels(pixels), mode: mode).loss
      }
    }
    for name in ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "fc.weight"] {
      let values = try #require(network.parameter(named: name))
      let gradient = try #require(analytic.parameter(named: name))
      for index in stride(from: 0, to: values.count, by: max(1, values.count / 6)) {
        try checker.check(gradient[index], "\(name)[\(index)]") { h in
          var moved = values
          moved[index] += h
          try network.setParameter(named: name, to: moved)
          defer { try? network.setParameter(named: name, to: values) }
          return try network.lossAndGradients(batch, mode: mode).loss
        }
      }
    }
    #expect(checker.checked >= 30)
    // The conv bias cancels in batch norm: its gradient is zero.
    #expect(try #require(analytic.parameter(named: "conv.bias")).allSatisfy { abs($0) < 1e-5 })
  }

  @Test func dropoutZeroesAndScalesWithSeededMasksOnlyInTraining() throws {
    let shape = ImageShape(height: 1, width: 100, channels: 1)
    var network = try Network(
      architecture: Architecture(
        input: shape, classes: 100, layers: [.flatten, .dropout(0.25), .linear("fc", 100, 100)]),
      seed: 0)
    try network.setParameter(
      named: "fc.weight", to: (0..<10_000).map { $0 / 100 == $0 % 100 ? 1 : 0 })
    try network.setParameter(named: "fc.bias", to: [Float](repeating: 0, count: 100))
    let batch = ImageBatch(
      shape: shape, pixels: [Float](repeating: 0.6, count: 300), labels: [0, 1, 2],
      classNames: (0..<100).map { "\($0)" })
    #expect(try network.logits(batch, mode: .evaluation).logits == batch.pixels)
    let masked = try network.logits(batch, mode: .training(seed: 4)).logits
    #expect(Set(masked.map { ($0 * 1000).rounded() }) == [0, 800])
    let dropped = Double(masked.count { $0 == 0 }) / 300
    #expect(abs(dropped - 0.25) < 0.08)
    #expect(try network.logits(batch, mode: .training(seed: 4)).logits == masked)
    #expect(try network.logits(batch, mode: .training(seed: 5)).logits != masked)
    // Each image has its own mask.
    #expect(masked[0..<100] != masked[100..<200])
  }

  @Test func trainingModePassesAreIdenticalOnOneAndTwoThreads() throws {
    let shape = ImageShape(height: 4, width: 4, channels: 1)
    let layers: [Layer] = [
      .conv2d("conv", 1, 2, kernel: 3, padding: 1), .batchNorm2d("bn", 2), .relu, .flatten,
      .dropout(0.5), .linear("fc", 32, 2),
    ]
    let batch = Fixtures.halves(count: 40, seed: 2)
    var results: [[Float]] = []
    for threads in [1, 2] {
      let network = try Fixtures.network(
        input: shape, classes: 2, layers: layers, threads: threads)
      let gradients = try network.lossAndGradients(batch, mode: .training(seed: 3))
      results.append(
        gradients.logits + gradients.input + gradients.flatParameters
          + gradients.batchStatistics.sorted { $0.key < $1.key }.flatMap(\.value))
    }
    #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern))
  }
}
