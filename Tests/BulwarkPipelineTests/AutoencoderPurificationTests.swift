import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

/// The autoencoder stage: its reconstruction, its backward pass against central differences,
/// the models it refuses, and how pipeline files name it.
@Suite struct AutoencoderPurificationTests {
  static let shape = ImageShape(height: 4, width: 4, channels: 2)
  let scratch: ScratchFolder

  init() throws {
    scratch = try ScratchFolder("bulwark-autoencoder")
  }

  static func stage() throws -> AutoencoderPurification {
    try AutoencoderPurification(network: Network(architecture: .autoencoder(input: shape), seed: 7))
  }

  static func batch(count: Int, seed: UInt64) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    let pixels = (0..<count * shape.valueCount).map { _ in generator.unitFloat() }
    return ImageBatch(shape: shape, pixels: pixels, labels: [Int](repeating: 0, count: count))
  }

  @Test func replacesEachImageByTheSigmoidOfItsReconstruction() throws {
    let stage = try Self.stage()
    let batch = Self.batch(count: 2, seed: 1)
    let network = try #require(stage.network)
    let outputs = try network.logits(batch)
    let processed = try stage.process(batch)
    // NHWC value (image, pixel, channel) is channels-first output (image, channel, pixel).
    let plane = 16
    for image in 0..<2 {
      for pixel in 0..<plane {
        for channel in 0..<2 {
          let z = Double(outputs[image * 32 + channel * plane + pixel])
          let value = processed.pixels[image * 32 + pixel * 2 + channel]
          #expect(abs(Double(value) - 1 / (1 + exp(-z))) < 1e-6)
        }
      }
    }
    #expect(processed.labels == batch.labels)
  }

  /// `backward` against central differences of `Σ w · process(x)` for seeded weights `w`.
  @Test func backwardMatchesCentralDifferences() throws {
    let stage = try Self.stage()
    let batch = Self.batch(count: 2, seed: 2)
    var generator = SeededGenerator(seed: 3)
    let weights = batch.pixels.map { _ in generator.unitFloat() * 2 - 1 }
    func objective(_ pixels: [Float]) throws -> Double {
      var moved = batch
      moved.pixels = pixels
      return zip(try stage.process(moved).pixels, weights).reduce(0.0) {
        $0 + Double($1.0) * Double($1.1)
      }
    }
    let analytic = try stage.backward(gradient: weights, input: batch)
    let h: Float = 1e-2
    var checked = 0
    for index in batch.pixels.indices {
      var up = batch.pixels
      var down = batch.pixels
      up[index] += h
      down[index] -= h
      let centre = try objective(batch.pixels)
      let (upValue, downValue) = (try objective(up), try objective(down))
      // Skip coordinates whose step crosses a ReLU or max-pool kink.
      let forward = (upValue - centre) / Double(h)
      let backward = (centre - downValue) / Double(h)
      guard abs(forward - backward) <= 2e-3 + 2e-2 * abs(forward) else { continue }
      let numeric = (upValue - downValue) / Double(2 * h)
      checked += 1
      #expect(
        abs(Double(analytic[index]) - numeric) <= 1e-3 + 1e-2 * abs(numeric),
        "pixel \(index): \(analytic[index]) vs \(numeric)")
    }
    #expect(checked >= 40)
  }

  /// A variational autoencoder's model file loads unchanged, as the stage and MagNet read it,
  /// and runs in evaluation mode: the reconstruction decodes the means, the same every time,
  /// and its gradient is the evaluation-mode one.
  @Test func aVariationalModelFilePurifiesWithItsMeans() throws {
    let network = try Network(
      architecture: .autoencoder(input: Self.shape, variational: true), seed: 5)
    let file = scratch.url("vae.safetensors")
    try network.write(to: file)
    let stage = try AutoencoderPurification(modelPath: file.path).loadingModel()
    #expect(stage.network?.architecture == network.architecture)
    let batch = Self.batch(count: 3, seed: 6)
    let outputs = try network.logits(batch, mode: .evaluation).logits
    let processed = try stage.process(batch)
    #expect(
      processed.pixels
        == ReconstructionLoss.channelsLast(
          outputs.map(ReconstructionLoss.sigmoid), shape: Self.shape))
    #expect(try stage.process(batch).pixels == processed.pixels)
    let weights = batch.pixels.map { $0 - 0.5 }
    let upstream = ReconstructionLoss.channelsFirst(weights, shape: Self.shape)
    let outputGradient = zip(upstream, outputs).map { gradient, output in
      let value = ReconstructionLoss.sigmoid(output)
      return gradient * value * (1 - value)
    }
    #expect(
      try stage.backward(gradient: weights, input: batch)
        == network.lossAndGradients(batch, logitGradient: outputGradient, mode: .evaluation).input)
    let magnet = try MagNetDetector(autoencoder: AutoencoderPurification(modelPath: file.path))
    let scores = try magnet.scores(batch) { _ in [] }
    #expect(try magnet.scores(batch) { _ in [] } == scores)
    let size = Self.shape.valueCount
    for image in 0..<3 {
      let error =
        (image * size..<(image + 1) * size).map {
          Double(abs(batch.pixels[$0] - processed.pixels[$0]))
        }.reduce(0, +) / Double(size)
      #expect(abs(scores[image] - error) < 1e-9)
    }
  }

  @Test func refusesAModelWhoseOutputIsNotItsInput() throws {
    let classifier = try Network(architecture: .lenet5(classes: 10), seed: 0)
    #expect {
      try AutoencoderPurification(network: classifier, name: "lenet5.safetensors")
    } throws: { error in
      error as? AutoencoderError
        == .output(
          file: "lenet5.safetensors", expected: "784 values (its 28x28x1 input)", found: "10")
    }
  }

  @Test func refusesImagesOfAnotherShape() throws {
    let stage = try Self.stage()
    let other = ImageBatch(
      shape: ImageShape(height: 4, width: 4, channels: 1), pixels: [Float](repeating: 0, count: 16),
      labels: [0])
    #expect(throws: AutoencoderError.input(file: "(in memory)", expected: "4x4x2", found: "4x4x1"))
    {
      try stage.process(other)
    }
    #expect(throws: AutoencoderError.gradient(expected: 64, found: 3)) {
      try stage.backward(gradient: [0, 0, 0], input: Self.batch(count: 2, seed: 1))
    }
  }

  @Test func decodingNeedsAModelAndNoOtherKey() {
    let missing = stageErrors("{ type: \"autoencoder\" }")
    #expect(missing.count == 1)
    #expect(missing.first?.contains("model") == true, "\(missing)")
    let unknown = stageErrors("{ type: \"autoencoder\", model: \"a.safetensors\", modle: 1 }")
    #expect(unknown.count == 1)
    #expect(unknown.first?.hasPrefix("p.json5: modle: unknown key") == true, "\(unknown)")
  }

  /// A pipeline file's model path is relative to the file, its bytes are part of the
  /// pipeline's identity, and a model that is not an autoencoder is reported at the stage's
  /// `model` key.
  @Test func pipelineFilesLoadTheModelBesideThem() throws {
    let models = scratch.url("models")
    try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
    try Network(architecture: .autoencoder(), seed: 1).write(
      to: models.appendingPathComponent("ae.safetensors"))
    try Network(architecture: .lenet5(classes: 10), seed: 1).write(
      to: models.appendingPathComponent("lenet5.safetensors"))
    func pipeline(_ model: String) throws -> URL {
      let url = scratch.url("p.json5")
      try """
      {
        classifier: { model: "models/lenet5.safetensors" },
        data: { clean: "fashion-mnist:test", adversarial: { attack: { method: "fgsm", eps: 0.1 } } },
        preprocessors: [{ type: "autoencoder", model: "\(model)" }],
      }
      """.write(to: url, atomically: true, encoding: .utf8)
      return url
    }
    let description = try PipelineDescription(contentsOf: pipeline("models/ae.safetensors"))
    let stage = try #require(description.preprocessors.first as? AutoencoderPurification)
    #expect(stage.network?.architecture == .autoencoder())
    #expect(stage.modelFile?.path == models.appendingPathComponent("ae.safetensors").path)
    // Sets made against the pipeline are remade when the autoencoder's weights change.
    let identity = try description.pipelineIdentity()
    try Network(architecture: .autoencoder(), seed: 2).write(
      to: models.appendingPathComponent("ae.safetensors"))
    let retrained = try PipelineDescription(contentsOf: pipeline("models/ae.safetensors"))
    #expect(try retrained.pipelineIdentity() != identity)
    #expect {
      try PipelineDescription(contentsOf: pipeline("models/lenet5.safetensors"))
    } throws: { error in
      let messages = (error as? PipelineErrors)?.errors.map(\.description) ?? []
      return messages.count == 1
        && messages[0].contains("preprocessors[0]: autoencoder: the model ")
        && messages[0].hasSuffix("must output 784 values (its 28x28x1 input), found 10")
    }
  }
}
