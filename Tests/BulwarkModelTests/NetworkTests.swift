import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

@Suite struct NetworkTests {
  /// conv 2->3 3x3 pad 1, relu, max pool 2, flatten, fc 12->2 on one 4x4x2 image; the expected
  /// logits come from a NumPy NCHW reference with the same PyTorch-layout weights.
  static let small = Architecture(
    input: ImageShape(height: 4, width: 4, channels: 2), classes: 2,
    layers: [
      .conv2d("conv1", 2, 3, kernel: 3, padding: 1), .relu, .maxPool2d(2), .flatten,
      .linear("fc", 12, 2),
    ])

  static let smallParameters: [String: [Float]] = [
    "conv1.weight": (0..<54).map { Float($0 * 5 % 13 - 6) / 10 },
    "conv1.bias": [0.1, -0.2, 0.05],
    "fc.weight": (0..<24).map { Float($0 * 3 % 7 - 3) / 10 },
    "fc.bias": [0.3, -0.1],
  ]

  @Test func matchesANumPyReferenceInPyTorchLayout() throws {
    let network = try Network(architecture: Self.small, parameters: Self.smallParameters)
    let pixels = (0..<32).map { Float($0 * 7 % 11) / 10 }
    let logits = try network.logits(pixels, count: 1)
    #expect(abs(logits[0] - 0.25099993) < 1e-5)
    #expect(abs(logits[1] - -0.14500004) < 1e-5)
  }

  @Test func rejectsParametersThatDoNotFit() throws {
    var missing = Self.smallParameters
    missing["fc.bias"] = nil
    #expect(throws: ModelError(field: "fc.bias", expected: "a tensor of shape [2]", found: "none"))
    {
      try Network(architecture: Self.small, parameters: missing)
    }
    var extra = Self.smallParameters
    extra["fc2.weight"] = [1]
    #expect(
      throws: ModelError(
        field: "fc2.weight", expected: "only the architecture's tensors (4)",
        found: "an extra tensor")
    ) { try Network(architecture: Self.small, parameters: extra) }
    var short = Self.smallParameters
    short["conv1.weight"] = [Float](repeating: 0, count: 53)
    #expect(
      throws: ModelError(field: "conv1.weight", expected: "54 values (3x2x3x3)", found: "53")
    ) { try Network(architecture: Self.small, parameters: short) }
    var nan = Self.smallParameters
    nan["fc.weight"]?[5] = .nan
    #expect(throws: ModelError(field: "fc.weight", expected: "finite values", found: "nan at 5")) {
      try Network(architecture: Self.small, parameters: nan)
    }
  }

  @Test func acceptsAndIgnoresBatchNormStepCounts() throws {
    let network = try Network(architecture: .rgbCNN(classes: 10), seed: 3)
    var parameters = Dictionary(
      uniqueKeysWithValues: network.namedParameters().map { ($0.name, $0.values) })
    parameters["bn2.num_batches_tracked"] = [100]
    let loaded = try Network(architecture: .rgbCNN(classes: 10), parameters: parameters)
    #expect(loaded.parameters == network.parameters)
    parameters["bn1.running_var"]?[3] = -1
    #expect(
      throws: ModelError(field: "bn1.running_var", expected: "variances >= 0", found: "-1.0 at 3")
    ) { try Network(architecture: .rgbCNN(classes: 10), parameters: parameters) }
  }

  @Test func rejectsInputsOfTheWrongShapeOrWithNaN() throws {
    let network = try Network(architecture: Self.small, parameters: Self.smallParameters)
    #expect(
      throws: ModelError(
        field: "input", expected: "2 images of 4x4x2 (64 values)", found: "63 values")
    ) { try network.logits([Float](repeating: 0, count: 63), count: 2) }
    var pixels = [Float](repeating: 0, count: 64)
    pixels[40] = .nan
    #expect(
      throws: ModelError(
        field: "input", expected: "finite pixel values", found: "nan in image 1 at value 8")
    ) { try network.logits(pixels, count: 2) }
    let grey = ImageBatch(
      shape: ImageShape(height: 4, width: 4, channels: 1), pixels: [Float](repeating: 0, count: 16),
      labels: [0])
    #expect(
      throws: ModelError(
        field: "input", expected: "images of 4x4x2 (height x width x channels)", found: "4x4x1")
    ) {
      try network.logits(grey)
    }
  }

  @Test func initialisesReproduciblyWithinPyTorchBounds() throws {
    let first = try Network(architecture: .lenet5(classes: 10), seed: 7)
    let second = try Network(architecture: .lenet5(classes: 10), seed: 7)
    let other = try Network(architecture: .lenet5(classes: 10), seed: 8)
    #expect(first.parameters == second.parameters)
    #expect(first.parameters != other.parameters)
    let fc1 = try #require(first.parameter(named: "fc1.weight"))
    #expect(fc1.allSatisfy { abs($0) <= 1 / Float(400).squareRoot() })
    #expect(fc1.map { abs($0) }.max() ?? 0 > 0.9 / Float(400).squareRoot())
    let rgb = try Network(architecture: .rgbCNN(classes: 10), seed: 7)
    #expect(rgb.parameter(named: "bn1.weight") == [Float](repeating: 1, count: 32))
    #expect(rgb.parameter(named: "bn1.running_mean") == [Float](repeating: 0, count: 32))
    #expect(rgb.parameter(named: "bn1.running_var") == [Float](repeating: 1, count: 32))
  }

  @Test func givesIdenticalBitsOnOneAndTwoThreads() throws {
    let one = try Fixtures.network(
      input: ImageShape(height: 6, width: 6, channels: 2), classes: 3,
      layers: [
        .conv2d("conv1", 2, 4, kernel: 3, padding: 1), .batchNorm2d("bn1", 4), .relu,
        .maxPool2d(2), .flatten, .linear("fc", 36, 3),
      ], threads: 1)
    var two = one
    two.options = ComputeOptions(threads: 2)
    // 300 images: 19 chunks, two waves of parameter-gradient reduction.
    let pixels = Fixtures.randomPixels(300 * 72, seed: 5)
    let labels = (0..<300).map { $0 % 3 }
    let a = try one.lossAndGradients(pixels, count: 300, labels: labels)
    let b = try two.lossAndGradients(pixels, count: 300, labels: labels)
    #expect(a.loss.bitPattern == b.loss.bitPattern)
    #expect(a.logits.map(\.bitPattern) == b.logits.map(\.bitPattern))
    #expect(a.input.map(\.bitPattern) == b.input.map(\.bitPattern))
    #expect(a.flatParameters.map(\.bitPattern) == b.flatParameters.map(\.bitPattern))
  }

  @Test func forwardPassesGiveTheLogitsOfBackwardPassesWhateverTheirChunks() throws {
    let network = try Fixtures.network(
      input: ImageShape(height: 128, width: 128, channels: 1), classes: 3,
      layers: [
        .conv2d("conv1", 1, 16, kernel: 3, padding: 1), .relu, .maxPool2d(2),
        .conv2d("conv2", 16, 8, kernel: 3, stride: 2, padding: 1), .relu, .globalAvgPool,
        .flatten, .linear("fc", 8, 3),
      ], threads: 2)
    // Activations of 256 K values: forward passes take 4 images a chunk, backward ones 16.
    #expect(network.forwardChunkSize == 4)
    let pixels = Fixtures.randomPixels(21 * 128 * 128, seed: 9)
    let forward = network.pass(
      pixels: pixels, count: 21, head: nil, wantsInputGradient: false,
      wantsParameterGradients: false)
    let backward = try network.lossAndGradients(
      pixels, count: 21, labels: (0..<21).map { $0 % 3 })
    #expect(forward.logits.map(\.bitPattern) == backward.logits.map(\.bitPattern))
  }

  @Test func stopsLogitsBeforeATrailingSoftmax() throws {
    var architecture = Self.small
    architecture.layers.append(.softmax)
    let network = try Network(architecture: architecture, parameters: Self.smallParameters)
    let batch = ImageBatch(
      shape: architecture.input, pixels: (0..<32).map { Float($0 * 7 % 11) / 10 }, labels: [0])
    let logits = try network.logits(batch)
    #expect(abs(logits[0] - 0.25099993) < 1e-5)
    let probabilities = try network.probabilities(batch)
    #expect(abs(probabilities[0] + probabilities[1] - 1) < 1e-6)
    #expect(abs(probabilities[0] - 1 / (1 + (logits[1] - logits[0]).exp)) < 1e-6)
    #expect(try network.predictions(batch) == [0])
  }
}

extension Float {
  fileprivate var exp: Float { Float(Foundation.exp(Double(self))) }
}
