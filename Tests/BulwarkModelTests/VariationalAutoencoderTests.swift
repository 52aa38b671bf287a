import BulwarkCore
import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkModel

/// The variational autoencoder: the sampling layer in training and evaluation mode, the KL term
/// and its scaling, gradients of the total loss, training that does not depend on threads or
/// resumption, and the layer in architecture JSON and model files.
@Suite struct VariationalAutoencoderTests {
  static let shape = ImageShape(height: 4, width: 4, channels: 1)
  let scratch: ScratchFolder

  init() throws {
    scratch = try ScratchFolder("bulwark-vae")
  }

  /// A network whose input's values are `latent` means then `latent` log-variances per image
  /// and whose outputs are its sampling layer's codes.
  static func samplingNetwork(latent: Int) throws -> Network {
    try Network(
      architecture: Architecture(
        input: ImageShape(height: 1, width: 1, channels: 2 * latent), classes: latent,
        layers: [.flatten, .gaussianSample]),
      seed: 0)
  }

  static func batch(_ network: Network, _ pixels: [Float]) -> ImageBatch {
    let shape = network.architecture.input
    return ImageBatch(
      shape: shape, pixels: pixels,
      labels: [Int](repeating: 0, count: pixels.count / shape.valueCount))
  }

  /// In training the codes are `mu + exp(logvar / 2) eps`, so `eps exp(logvar / 2) = z - mu`
  /// and the exact gradient on a log-variance is `upstream (z - mu) / 2`; in evaluation the
  /// codes are the means, which take the whole gradient.
  @Test func samplingBackpropagatesThroughItsNoiseOnlyInTraining() throws {
    let network = try Self.samplingNetwork(latent: 3)
    let pixels: [Float] = [0.5, -1, 2, 0, 1, -2, 0.1, 0.2, 0.3, -0.5, 0.5, 1.5]
    let batch = Self.batch(network, pixels)
    let upstream: [Float] = [1, -2, 0.5, 3, 1, -1]
    let training = try network.lossAndGradients(
      batch, logitGradient: upstream, mode: .training(seed: 11))
    for image in 0..<2 {
      for index in 0..<3 {
        let mean = pixels[image * 6 + index]
        let code = training.logits[image * 3 + index]
        let gradient = upstream[image * 3 + index]
        #expect(training.input[image * 6 + index] == gradient)
        let expected = gradient * (code - mean) / 2
        #expect(abs(training.input[image * 6 + 3 + index] - expected) <= 1e-6 * (1 + abs(expected)))
      }
    }
    #expect(training.logits != [0.5, -1, 2, 0.1, 0.2, 0.3])
    let evaluation = try network.lossAndGradients(
      batch, logitGradient: upstream, mode: .evaluation)
    #expect(evaluation.logits == [0.5, -1, 2, 0.1, 0.2, 0.3])
    #expect(evaluation.input == [1, -2, 0.5, 0, 0, 0, 3, 1, -1, 0, 0, 0])
  }

  /// Training-mode codes scatter around the means with the standard deviation
  /// `exp(logvar / 2)`, each image its own draw, the same for the same seed.
  @Test func trainingSamplesAroundTheMeans() throws {
    let network = try Self.samplingNetwork(latent: 1000)
    let image = [Float](repeating: 0.3, count: 1000) + [Float](repeating: log(0.25), count: 1000)
    let batch = Self.batch(network, image + image)
    let codes = try network.logits(batch, mode: .training(seed: 3)).logits
    let first = codes[0..<1000].map(Double.init)
    let mean = first.reduce(0, +) / 1000
    let deviation = (first.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 999).squareRoot()
    #expect(abs(mean - 0.3) < 0.05, "mean \(mean)")
    #expect(abs(deviation - 0.5) < 0.05, "deviation \(deviation)")
    #expect(codes[0..<1000] != codes[1000..<2000])
    #expect(try network.logits(batch, mode: .training(seed: 3)).logits == codes)
    #expect(try network.logits(batch, mode: .training(seed: 4)).logits != codes)
  }

  /// `KL(N(mu, exp(logvar)) || N(0, 1)) = -0.5 Σ (1 + logvar - mu² - exp(logvar))`, by hand
  /// for mu (0.5, -1), logvar (0, 1): `0.125 + (e - 1) / 2`; its gradient is `mu` on the means
  /// and `(exp(logvar) - 1) / 2` on the log-variances. The pass weighs it per image and
  /// averages over the batch (a second image at N(0, 1) adds nothing).
  @Test func klTermMatchesHandComputedValues() throws {
    let network = try Self.samplingNetwork(latent: 2)
    let batch = Self.batch(network, [0.5, -1, 0, 1, 0, 0, 0, 0])
    let gradients = try network.lossAndGradients(
      batch, perRow: { _, _, gradient in gradient.update(repeating: 0) },
      mode: .training(seed: 1), inputGradient: true, klWeight: 3)
    let e = exp(1.0)
    let divergence = 0.125 + (e - 1) / 2
    #expect(abs(gradients.loss - 3 * divergence / 2) < 1e-6, "\(gradients.loss)")
    let expected = [0.5, -1, 0, (e - 1) / 2].map { 3 * $0 / 2 } + [0, 0, 0, 0]
    for (value, wanted) in zip(gradients.input, expected) {
      #expect(abs(Double(value) - wanted) < 1e-6, "\(gradients.input)")
    }
  }

  /// The trainer adds `klWeight` times each image's KL divergence divided by its value count
  /// (the reconstruction's cross-entropy being a mean per value), averaged over the batch.
  @Test func trainerScalesTheKLTermPerValue() throws {
    // Two input values (a mean and a log-variance), decoded by fc into two outputs.
    var network = try Network(
      architecture: Architecture(
        input: ImageShape(height: 1, width: 1, channels: 2), classes: 2,
        layers: [.flatten, .gaussianSample, .linear("fc", 1, 2)]),
      seed: 0)
    try network.setParameter(named: "fc.weight", to: [2, -1])
    try network.setParameter(named: "fc.bias", to: [0.1, 0.2])
    let batch = Self.batch(network, [0.5, 0, 0.2, 1])
    let trainer = Trainer(seed: 0, reconstructs: true, klWeight: 0.5)
    let gradients = try trainer.reconstructionGradients(batch, network: network, mode: .evaluation)
    let outputs: [Float] = [2 * 0.5 + 0.1, -0.5 + 0.2, 2 * 0.2 + 0.1, -0.2 + 0.2]
    let crossEntropy = ReconstructionLoss.loss(outputs: outputs, targets: batch.pixels)
    // KL 0.125 for (0.5, 0) and (e - 1.96) / 2 for (0.2, 1).
    let divergences = [0.125, (exp(1.0) - 1.96) / 2]
    let term = 0.5 * (divergences[0] + divergences[1]) / 2 / 2
    #expect(abs(gradients.loss - (crossEntropy + term)) < 1e-6, "\(gradients.loss)")
  }

  /// Central differences of the training-mode loss (cross-entropy plus KL term, the noise
  /// fixed by the seed): the sampling layer's input gradient on seeded means and log-variances
  /// of two images, then the whole 4x4 VAE's parameter gradients, conv3's bias being the
  /// sampling layer's input gradient summed over the batch (its latent code is 1x1).
  @Test func totalLossGradientsMatchFiniteDifferencesInTraining() throws {
    let mode = Network.Mode.training(seed: 17)
    var checker = GradientTests.Checker()

    let sampling = try Self.samplingNetwork(latent: 3)
    let codes = Self.batch(sampling, Fixtures.randomPixels(12, seed: 2).map { 2 * $0 - 1 })
    let weights = Fixtures.randomPixels(6, seed: 3).map { 2 * $0 - 1 }
    func samplingLoss(_ batch: ImageBatch) throws -> Gradients {
      try sampling.lossAndGradients(
        batch,
        perRow: { image, _, gradient in
          for index in gradient.indices { gradient[index] = weights[image * 3 + index] }
        }, mode: mode, inputGradient: true, klWeight: 0.7)
    }
    let analytic = try samplingLoss(codes).input
    for index in codes.pixels.indices {
      try checker.checkCurved(analytic[index], "code input \(index)") { h in
        var pixels = codes.pixels
        pixels[index] += h
        let gradients = try samplingLoss(codes.replacingPixels(pixels))
        return gradients.loss
          + zip(gradients.logits, weights).reduce(0.0) {
            $0 + Double($1.0) * Double($1.1)
          }
      }
    }
    #expect(checker.checked == 12)

    var network = try Network(
      architecture: .autoencoder(input: Self.shape, variational: true), seed: 3)
    let batch = ReconstructionTrainingTests.batch(count: 3, seed: 4, shape: Self.shape)
    let trainer = Trainer(seed: 0, reconstructs: true, klWeight: 2)
    let gradients = try trainer.reconstructionGradients(batch, network: network, mode: mode)
    for name in ["conv3.bias", "conv3.weight", "conv5.weight", "conv5.bias", "conv1.weight"] {
      let values = try #require(network.parameter(named: name))
      let gradient = try #require(gradients.parameter(named: name))
      for index in stride(from: 0, to: values.count, by: max(1, values.count / 16)) {
        // Scaled up so the finite differences of a mean over 48 values stay above rounding.
        try checker.checkCurved(1000 * gradient[index], "\(name)[\(index)]") { h in
          var moved = values
          moved[index] += h
          try network.setParameter(named: name, to: moved)
          defer { try? network.setParameter(named: name, to: values) }
          return 1000
            * (try trainer.reconstructionGradients(batch, network: network, mode: mode).loss)
        }
      }
    }
    #expect(checker.checked >= 60, "\(checker.checked) checked, \(checker.skipped) skipped")
  }

  /// Evaluation mode decodes the means: the VAE's output is its decoder's on the means its
  /// encoder gives (an 8x8 input, so a 2x2 code of channels-first halves), every time.
  @Test func evaluationModeDecodesTheMeans() throws {
    let shape = ImageShape(height: 8, width: 8, channels: 1)
    let vae = try Fixtures.network(
      input: shape, classes: 64,
      layers: Architecture.autoencoder(input: shape, variational: true).layers, seed: 5)
    let layers = vae.architecture.layers
    let sample = try #require(layers.firstIndex { $0.kind == .gaussianSample })
    func part(_ architecture: Architecture) throws -> Network {
      let names = Set(try Network(architecture: architecture, seed: 0).parameterShapes.map(\.name))
      return try Network(
        architecture: architecture,
        parameters: Dictionary(
          uniqueKeysWithValues: vae.namedParameters().filter { names.contains($0.name) }.map {
            ($0.name, $0.values)
          }))
    }
    let encoder = try part(
      Architecture(input: shape, classes: 64, layers: Array(layers[..<sample]) + [.flatten]))
    let codeShape = ImageShape(height: 2, width: 2, channels: 8)
    let decoder = try part(
      Architecture(input: codeShape, classes: 64, layers: Array(layers[(sample + 1)...])))
    let batch = ReconstructionTrainingTests.batch(count: 3, seed: 6, shape: shape)
    let encoded = try encoder.logits(batch)
    // Each image's first 32 channels-first values are its means.
    let means = (0..<3).flatMap { encoded[$0 * 64..<($0 * 64 + 32)] }
    let decoded = try decoder.logits(
      ReconstructionLoss.channelsLast(means, shape: codeShape), count: 3)
    let outputs = try vae.logits(batch)
    #expect(outputs == decoded)
    #expect(try vae.logits(batch, mode: .evaluation).logits == outputs)
    #expect(try vae.logits(batch) == outputs)
    #expect(try vae.logits(batch, mode: .training(seed: 1)).logits != outputs)
  }

  /// Training gives the same network at 1 and 2 threads, in chunks of 16 or not, and resumed
  /// from a checkpoint; a checkpoint of another KL weight is refused.
  @Test func trainingIsIdenticalAtOneAndTwoThreadsAndAfterResume() throws {
    let shape = ReconstructionTrainingTests.shape
    let data = ReconstructionTrainingTests.batch(count: 40, seed: 9)
    func run(threads: Int, epochs: Int, checkpoint: URL?, klWeight: Double = 0.5) throws
      -> Trainer.Outcome
    {
      try Trainer(batchSize: 20, seed: 6, reconstructs: true, klWeight: klWeight).train(
        .autoencoder(input: shape, variational: true), optimizer: Adam(learningRate: 0.01),
        data: data, validation: nil, epochs: epochs,
        settings: TrainingCheckpoint.Settings(
          data: "rectangles", seed: 6, batchSize: 20, optimizer: "adam lr=0.01",
          klWeight: klWeight),
        checkpoint: checkpoint, options: ComputeOptions(threads: threads))
    }
    let straight = try run(threads: 1, epochs: 3, checkpoint: nil)
    #expect(straight.epochs[2].loss < straight.epochs[0].loss, "\(straight.epochs.map(\.loss))")
    #expect(
      try run(threads: 2, epochs: 3, checkpoint: nil).network.parameters
        == straight.network.parameters)
    let url = scratch.url("vae.ckpt")
    _ = try run(threads: 2, epochs: 2, checkpoint: url)
    let resumed = try run(threads: 1, epochs: 3, checkpoint: url)
    #expect(resumed.resumedAfter == 2)
    #expect(resumed.network.parameters == straight.network.parameters)
    #expect(resumed.epochs.map(\.loss) == straight.epochs.map(\.loss))
    #expect(throws: ModelError.self) {
      try run(threads: 1, epochs: 4, checkpoint: url, klWeight: 1)
    }
  }

  /// The layer is `{"type":"gaussianSample"}` in architecture JSON, and a VAE's model file
  /// loads back with the same architecture, parameters and outputs.
  @Test func roundTripsThroughJSONAndModelFiles() throws {
    let architecture = Architecture.autoencoder(input: Self.shape, variational: true)
    let json = architecture.jsonString()
    #expect(
      json.contains(
        #"{"type":"conv2d","name":"conv3","in":8,"out":16,"kernel":3,"padding":1},"#
          + #"{"type":"gaussianSample"},{"type":"upsample2d","factor":2}"#))
    #expect(try Architecture(jsonString: json) == architecture)
    let decoded = try JSONDecoder().decode(
      Layer.self, from: Data(#"{"type":"gaussianSample"}"#.utf8))
    #expect(decoded == .gaussianSample)

    let network = try Network(architecture: architecture, seed: 8)
    let url = scratch.url("vae.safetensors")
    try network.write(to: url)
    let loaded = try Network(contentsOf: url)
    #expect(loaded.architecture == architecture)
    #expect(loaded.parameters == network.parameters)
    let batch = ReconstructionTrainingTests.batch(count: 2, seed: 1, shape: Self.shape)
    #expect(try loaded.logits(batch) == network.logits(batch))
  }

  /// The plain autoencoder is unchanged: its JSON is the committed
  /// `pipelines/models/autoencoder-fashion.safetensors`'s.
  @Test func thePlainAutoencoderKeepsItsArchitecture() {
    #expect(
      Architecture.autoencoder().jsonString()
        == #"{"input":{"height":28,"width":28,"channels":1},"classes":784,"layers":["#
        + #"{"type":"conv2d","name":"conv1","in":1,"out":16,"kernel":3,"padding":1},"#
        + #"{"type":"relu"},{"type":"maxPool2d","kernel":2,"stride":2},"#
        + #"{"type":"conv2d","name":"conv2","in":16,"out":8,"kernel":3,"padding":1},"#
        + #"{"type":"relu"},{"type":"maxPool2d","kernel":2,"stride":2},"#
        + #"{"type":"conv2d","name":"conv3","in":8,"out":8,"kernel":3,"padding":1},"#
        + #"{"type":"relu"},{"type":"upsample2d","factor":2},"#
        + #"{"type":"conv2d","name":"conv4","in":8,"out":16,"kernel":3,"padding":1},"#
        + #"{"type":"relu"},{"type":"upsample2d","factor":2},"#
        + #"{"type":"conv2d","name":"conv5","in":16,"out":1,"kernel":3,"padding":1},"#
        + #"{"type":"flatten"}]}"#)
  }

  /// An odd channel count (or vector length) cannot split into means and log-variances: the
  /// error names the layer.
  @Test(arguments: [
    (
      #"{"type":"conv2d","name":"c","in":1,"out":3,"kernel":1},{"type":"gaussianSample"},"#
        + #"{"type":"flatten"}"#, ImageShape(height: 2, width: 2, channels: 1), "3x2x2 (CxHxW)"
    ),
    (
      #"{"type":"flatten"},{"type":"gaussianSample"}"#,
      ImageShape(height: 1, width: 1, channels: 3),
      "a vector of 3"
    ),
  ])
  func anOddChannelCountNamesTheLayer(layers: String, input: ImageShape, found: String) {
    let size = #""height":\#(input.height),"width":\#(input.width),"channels":\#(input.channels)"#
    let json = #"{"input":{"# + size + #"},"classes":6,"layers":["# + layers + "]}"
    let error = #expect(throws: ModelError.self) { try Architecture(jsonString: json) }
    #expect(error?.field == "layers[1]")
    #expect(error?.expected == "an even channel count (means, then log-variances)")
    #expect(error?.found == found)
  }

  @Test func refusesAKLWeightThatIsNegativeOrNotFinite() throws {
    let data = ReconstructionTrainingTests.batch(count: 4, seed: 1, shape: Self.shape)
    var network = try Network(
      architecture: .autoencoder(input: Self.shape, variational: true), seed: 0)
    var adam = Adam()
    for weight in [-1, Double.nan] {
      #expect {
        try Trainer(seed: 0, reconstructs: true, klWeight: weight).runEpoch(
          0, network: &network, optimizer: &adam, data: data)
      } throws: { error in
        (error as? ModelError)?.field == "klWeight"
      }
    }
  }
}
