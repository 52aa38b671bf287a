import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import BulwarkTestSupport
import Testing

@testable import BulwarkPipeline

/// A randomised preprocessor: adds seeded uniform noise in [-0.05, 0.05); pass `k` draws from
/// seed `seed + k`. Its backward step is the identity (the noise is additive).
struct Jitter: Preprocessor {
  var seed: UInt64 = 0
  var isRandomized: Bool { true }

  func process(_ batch: ImageBatch) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    var result = batch
    result.pixels = batch.pixels.map { $0 + 0.1 * generator.unitFloat() - 0.05 }
    return result
  }

  func reseeded(pass: Int) -> any Preprocessor {
    Jitter(seed: seed &+ UInt64(pass))
  }
}

@Suite struct ExpectationOverTransformationTests {
  static func pipeline(randomised: Bool) throws -> Pipeline {
    var pipeline = try PipelineGradientTests.pipeline(postprocessors: [])
    if randomised { pipeline.preprocessors.insert(Jitter(), at: 0) }
    return pipeline
  }

  @Test func oneSampleIsThePlainGradientOfItsDraw() throws {
    let eot = ExpectationOverTransformation(try Self.pipeline(randomised: true), samples: 1)
    let batch = PipelineGradientTests.batch()
    let averaged = try eot.lossGradient(batch, labels: batch.labels)
    let plain = try eot.draw(0, for: batch).lossGradient(batch, labels: batch.labels)
    #expect(averaged.input == plain.input)
    #expect(averaged.loss == plain.loss)
    // The draw is not the pipeline as configured: it is a reseeded one.
    let configured = try eot.pipeline.lossGradient(batch, labels: batch.labels)
    #expect(configured.input != plain.input)
  }

  @Test func severalSamplesAverageTheirDrawsReproducibly() throws {
    let eot = ExpectationOverTransformation(try Self.pipeline(randomised: true), samples: 4)
    let batch = PipelineGradientTests.batch()
    let weights: [Float] = [1, -1, 0.5, 0.25, -0.5, 2]
    let averaged = try eot.inputGradient(batch, logitGradient: weights)
    #expect(try eot.inputGradient(batch, logitGradient: weights) == averaged)
    var sum = [Float](repeating: 0, count: batch.pixels.count)
    for k in 0..<4 {
      let gradient = try eot.draw(k, for: batch).inputGradient(batch, logitGradient: weights)
      for index in sum.indices { sum[index] += gradient[index] }
    }
    expectClose(averaged, sum.map { $0 / 4 }, tolerance: 1e-6)
    // A moved input draws other noise.
    var moved = batch
    moved.pixels[0] += 0.01
    #expect(eot.draw(0, for: moved).preprocessors.count == 3)
    #expect(
      try eot.draw(0, for: moved).defendedProbabilities(batch)
        != eot.draw(0, for: batch).defendedProbabilities(batch))
  }

  @Test func aDeterministicPipelineKeepsItsOwnGradientAndForwardPass() throws {
    let pipeline = try Self.pipeline(randomised: false)
    let eot = ExpectationOverTransformation(pipeline, samples: 5)
    let batch = PipelineGradientTests.batch()
    #expect(
      try eot.lossGradient(batch, labels: batch.labels).input
        == pipeline.lossGradient(batch, labels: batch.labels).input)
    #expect(try eot.probabilities(batch) == pipeline.probabilities(batch))
  }
}
