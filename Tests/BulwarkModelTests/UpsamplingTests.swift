import BulwarkData
import Testing

@testable import BulwarkModel

/// Nearest-neighbour upsampling (PyTorch `Upsample(scale_factor, mode="nearest")`): values by
/// hand, its gradient by hand and against finite differences, its JSON and its shape checks.
@Suite struct UpsamplingTests {
  /// A parameterless network that upsamples `input` by `factor` and flattens.
  static func upsampler(_ input: ImageShape, factor: Int) throws -> Network {
    let architecture = Architecture(
      input: input, classes: input.valueCount * factor * factor,
      layers: [.upsample2d(factor), .flatten])
    return try Network(architecture: architecture, parameters: [:])
  }

  @Test func copiesEachValueIntoItsBlock() throws {
    let shape = ImageShape(height: 2, width: 2, channels: 1)
    let network = try Self.upsampler(shape, factor: 2)
    let output = try network.logits([1, 2, 3, 4], count: 1)
    #expect(output == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4])
  }

  /// Two channels, channels last in, channels first out; factor 3 on a 1x2 image.
  @Test func upsamplesEveryChannelOnItsOwn() throws {
    let shape = ImageShape(height: 1, width: 2, channels: 2)
    let network = try Self.upsampler(shape, factor: 3)
    // NHWC: pixel (0,0) = (1, 10), pixel (0,1) = (2, 20).
    let output = try network.logits([1, 10, 2, 20], count: 1)
    let first: [Float] = [1, 1, 1, 2, 2, 2]
    let second: [Float] = [10, 10, 10, 20, 20, 20]
    #expect(output == first + first + first + second + second + second)
  }

  @Test func sumsEachBlocksGradient() throws {
    let shape = ImageShape(height: 2, width: 2, channels: 1)
    let network = try Self.upsampler(shape, factor: 2)
    let batch = ImageBatch(shape: shape, pixels: [1, 2, 3, 4], labels: [0])
    let upstream = (0..<16).map(Float.init)
    let gradients = try network.lossAndGradients(
      batch, logitGradient: upstream, mode: .evaluation)
    // Blocks: {0, 1, 4, 5}, {2, 3, 6, 7}, {8, 9, 12, 13}, {10, 11, 14, 15}.
    #expect(gradients.input == [10, 18, 42, 50])
  }

  @Test func gradientsMatchFiniteDifferences() throws {
    let shape = ImageShape(height: 4, width: 4, channels: 2)
    var network = try Fixtures.network(
      input: shape, classes: 3,
      layers: [
        .conv2d("conv1", 2, 3, kernel: 3, padding: 1), .upsample2d(2),
        .conv2d("conv2", 3, 2, kernel: 3, stride: 2), .flatten, .linear("fc", 2 * 3 * 3, 3),
      ], seed: 4)
    let batch = ImageBatch(
      shape: shape, pixels: Fixtures.randomPixels(2 * shape.valueCount, seed: 5), labels: [0, 2])
    var checker = GradientTests.Checker()
    try checker.checkInputGradient(
      of: network, batch: batch, labels: batch.labels, samples: 20, seed: 6)
    let gradients = try network.lossAndGradients(batch, mode: .evaluation)
    let name = "conv1.weight"
    let values = try #require(network.parameter(named: name))
    let gradient = try #require(gradients.parameter(named: name))
    for index in stride(from: 0, to: values.count, by: 5) {
      try checker.check(gradient[index], "\(name)[\(index)]") { h in
        var moved = values
        moved[index] += h
        try network.setParameter(named: name, to: moved)
        defer { try? network.setParameter(named: name, to: values) }
        return try network.lossAndGradients(batch, mode: .evaluation).loss
      }
    }
    #expect(checker.checked >= 30)
  }

  @Test func roundTripsThroughJSON() throws {
    let architecture = Architecture.autoencoder()
    let text = architecture.jsonString()
    #expect(text.contains("{\"type\":\"upsample2d\",\"factor\":2}"))
    #expect(try Architecture(jsonString: text) == architecture)
  }

  @Test(arguments: [
    (
      [Layer.flatten, .upsample2d(2)], 8,
      "layers[1]: expected a CxHxW input, found a vector of 4"
    ),
    (
      [Layer.upsample2d(0), .flatten], 0,
      "layers[0]: expected a factor in 1...65536 whose output sides are within 65536, "
        + "found factor 0 on 1x2x2 (CxHxW)"
    ),
    (
      [Layer.upsample2d(40_000), .flatten], 4,
      "layers[0]: expected a factor in 1...65536 whose output sides are within 65536, "
        + "found factor 40000 on 1x2x2 (CxHxW)"
    ),
  ])
  func refusesBadShapes(layers: [Layer], classes: Int, message: String) {
    let architecture = Architecture(
      input: ImageShape(height: 2, width: 2, channels: 1), classes: max(classes, 1),
      layers: layers)
    #expect {
      try architecture.validate()
    } throws: { error in
      "\(error)" == message
    }
  }
}
