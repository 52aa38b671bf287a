import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

/// A differentiable preprocessor of the user's own: `scale x + shift` per value.
struct Affine: Preprocessor {
  var scale: Float
  var shift: Float

  func process(_ batch: ImageBatch) -> ImageBatch {
    var result = batch
    result.pixels = batch.pixels.map { scale * $0 + shift }
    return result
  }

  func backward(gradient: [Float], input: ImageBatch) -> [Float] {
    gradient.map { scale * $0 }
  }
}

/// A differentiable preprocessor whose backward step needs its own input: `x²` per value.
struct Square: Preprocessor {
  func process(_ batch: ImageBatch) -> ImageBatch {
    var result = batch
    result.pixels = batch.pixels.map { $0 * $0 }
    return result
  }

  func backward(gradient: [Float], input: ImageBatch) -> [Float] {
    zip(gradient, input.pixels).map { 2 * $1 * $0 }
  }
}

/// The pipeline as a `Classifier`: its input gradient against central finite differences of its
/// loss, through differentiable preprocessors (each backward step with its own input), a small
/// CNN and the reverse sigmoid's true gradient.
@Suite struct PipelineGradientTests {
  static let shape = ImageShape(height: 4, width: 4, channels: 1)

  static func pipeline(postprocessors: [any Postprocessor]) throws -> Pipeline {
    let architecture = Architecture(
      input: shape, classes: 3,
      layers: [
        .conv2d("conv", 1, 2, kernel: 3, padding: 1), .relu, .flatten, .linear("fc", 32, 3),
      ])
    return Pipeline(
      classifier: try Network(architecture: architecture, seed: 3),
      preprocessors: [Affine(scale: 0.8, shift: 0.1), Square()],
      postprocessors: postprocessors)
  }

  static func batch() -> ImageBatch {
    var generator = SeededGenerator(seed: 11)
    let pixels = (0..<2 * shape.valueCount).map { _ in 0.2 + 0.6 * generator.unitFloat() }
    return ImageBatch(shape: shape, pixels: pixels, labels: [0, 2])
  }

  /// The analytic gradient of `objective` against central differences with step `step`.
  static func expectMatchesFiniteDifferences(
    _ analytic: [Float], step: Float = 1e-2, _ objective: (ImageBatch) throws -> Double,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let batch = batch()
    #expect(analytic.count == batch.pixels.count, sourceLocation: sourceLocation)
    var largest = 0.0
    for index in batch.pixels.indices {
      var plus = batch
      plus.pixels[index] += step
      var minus = batch
      minus.pixels[index] -= step
      let numeric = (try objective(plus) - objective(minus)) / Double(2 * step)
      largest = max(largest, abs(numeric))
      #expect(
        abs(Double(analytic[index]) - numeric) <= 2e-3 + 2e-2 * abs(numeric),
        "pixel \(index): analytic \(analytic[index]), numeric \(numeric)",
        sourceLocation: sourceLocation)
    }
    // The check means something only if the gradient is not zero everywhere.
    #expect(largest > 1e-2, sourceLocation: sourceLocation)
  }

  @Test(arguments: [false, true])
  func lossGradientMatchesFiniteDifferences(withReverseSigmoid: Bool) throws {
    let postprocessors: [any Postprocessor] =
      withReverseSigmoid ? [try ReverseSigmoid(beta: 0.3, gamma: 0.5)] : []
    let pipeline = try Self.pipeline(postprocessors: postprocessors)
    let batch = Self.batch()
    let (loss, gradient) = try pipeline.lossGradient(batch, labels: batch.labels)
    let probabilities = try pipeline.probabilities(batch)
    let expected = -(log(Double(probabilities[0])) + log(Double(probabilities[5]))) / 2
    #expect(abs(loss - expected) < 1e-6)
    try Self.expectMatchesFiniteDifferences(gradient) { images in
      try pipeline.lossGradient(images, labels: images.labels).loss
    }
  }

  @Test func logitGradientMatchesFiniteDifferences() throws {
    let pipeline = try Self.pipeline(postprocessors: [try ReverseSigmoid(beta: 0.3, gamma: 0.5)])
    let weights: [Float] = [0.5, -1, 0.25, -0.75, 1, 0.3]
    let gradient = try pipeline.inputGradient(Self.batch(), logitGradient: weights)
    try Self.expectMatchesFiniteDifferences(gradient) { images in
      zip(try pipeline.logits(images), weights).reduce(0) { $0 + Double($1.0 * $1.1) }
    }
  }

  @Test func fusedLogitsAndGradientEqualTheTwoPasses() throws {
    let pipeline = try Self.pipeline(postprocessors: [try ReverseSigmoid(beta: 0.3, gamma: 0.5)])
    let batch = Self.batch()
    let weights: [Float] = [0.5, -1, 0.25, -0.75, 1, 0.3]
    let fused = try pipeline.logitsAndInputGradient(batch) { image, _, gradient in
      for column in 0..<3 { gradient[column] = weights[image * 3 + column] }
    }
    #expect(fused.logits == (try pipeline.logits(batch)))
    let separate = try pipeline.inputGradient(batch, logitGradient: weights)
    expectClose(fused.input, separate, tolerance: 1e-6)
  }

  @Test func probabilitiesAreTheDefendedOutputsAndLogitsTheirLogarithms() throws {
    let pipeline = try Self.pipeline(postprocessors: [try HighConfidence(cutoff: 0.99)])
    let batch = Self.batch()
    let defended = try pipeline.defendedProbabilities(batch)
    #expect(try pipeline.probabilities(batch) == defended.values)
    // Every row abstains at this cutoff: equal logits at the floor.
    #expect(defended.abstainedRows == [0, 1])
    #expect(try pipeline.logits(batch).allSatisfy { $0 == log(Pipeline.probabilityFloor) })
    #expect(pipeline.inputShape == Self.shape && pipeline.classCount == 3)
  }

  @Test func attacksTargetTheWholePipeline() throws {
    let pipeline = try Self.pipeline(postprocessors: [try ReverseSigmoid(beta: 0.3, gamma: 0.5)])
    let batch = Self.batch()
    let before = try pipeline.lossGradient(batch, labels: batch.labels).loss
    let adversarial = try FGSM(epsilon: 0.05).perturb(batch, classifier: pipeline, targets: nil)
    let after = try pipeline.lossGradient(adversarial, labels: batch.labels).loss
    #expect(after > before)
    let moved = zip(adversarial.pixels, batch.pixels).map { abs($0 - $1) }
    #expect(moved.count == batch.pixels.count)
    #expect(moved.allSatisfy { abs($0 - 0.05) < 1e-6 })
  }

  @Test func softmaxBackwardIsTheJacobianTransposeProduct() {
    // p = [0.5, 0.25, 0.25], g = [1, 0, 0]: <g, p> = 0.5, so p (g - 0.5) = [0.25, -0.125, -0.125].
    let result = Pipeline.softmaxBackward([1, 0, 0], softmax: [0.5, 0.25, 0.25], classes: 3)
    #expect(result == [0.25, -0.125, -0.125])
  }
}
