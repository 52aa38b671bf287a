import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkDefenses

/// y = factor * x, a stage with a non-identity backward pass.
struct Scale: Preprocessor {
  var factor: Float
  func process(_ batch: ImageBatch) -> ImageBatch {
    var result = batch
    result.pixels = batch.pixels.map { $0 * factor }
    return result
  }
  var isRandomized: Bool { false }
  func backward(gradient: [Float], input: ImageBatch) -> [Float] {
    gradient.map { $0 * factor }
  }
}

/// y = x², whose backward pass needs its own input: dL/dx = 2x dL/dy.
struct Square: Preprocessor {
  func process(_ batch: ImageBatch) -> ImageBatch {
    var result = batch
    result.pixels = batch.pixels.map { $0 * $0 }
    return result
  }
  var isRandomized: Bool { false }
  func backward(gradient: [Float], input: ImageBatch) -> [Float] {
    zip(gradient, input.pixels).map { 2 * $1 * $0 }
  }
}

@Suite struct PreprocessorTests {
  static let batch = ImageBatch(
    shape: ImageShape(height: 1, width: 3, channels: 1), pixels: [0.5, 1, 2], labels: [0])

  @Test func chainPassesEachStageItsOwnInputBackward() throws {
    // y = (3x)², so dy/dx = 18x; Square must see 3x, not the chain's x.
    let chain = PreprocessorChain([Scale(factor: 3), Square()])
    #expect(try chain.process(Self.batch).pixels == [2.25, 9, 36])
    let gradient = try chain.backward(gradient: [1, 1, 1], input: Self.batch)
    #expect(gradient == [9, 18, 36])
    #expect(!chain.isRandomized)
  }

  @Test func builtInStagesPassGradientsThroughUnchanged() throws {
    let chain = PreprocessorChain([
      try SpatialSmoothing(window: 2), try FeatureSqueezing(bitDepth: 2, clipValues: .unit),
      try TotalVariationMinimization(),
    ])
    #expect(chain.isRandomized)
    #expect(try chain.backward(gradient: [1, -2, 3], input: Self.batch) == [1, -2, 3])
  }

  @Test func processesEmptyBatches() throws {
    let empty = ImageBatch(
      shape: ImageShape(height: 4, width: 4, channels: 3), pixels: [], labels: [])
    let stages: [any Preprocessor] = [
      try SpatialSmoothing(window: 5), try FeatureSqueezing(clipValues: .unit),
      try TotalVariationMinimization(),
    ]
    for stage in stages {
      #expect(try stage.process(empty) == empty)
    }
  }

  @Test func featureSqueezingMatchesTheKnownCase() throws {
    let batch = ImageBatch(
      shape: ImageShape(height: 1, width: 5, channels: 1), pixels: [0, 1, 2, 3, 4], labels: [0])
    let output = try FeatureSqueezing(bitDepth: 2, clipValues: ValueRange(0, 4)).process(batch)
    #expect(output.pixels == [0, 1.3333334, 2.6666667, 2.6666667, 4])
  }

  /// Expected values from ART's formula in NumPy 2.4 (float64 result), rounded to float32.
  @Test(
    arguments: [
      (1, [0, 0, 0, 1, 1, 1, 0, 0, 1]),
      (3, [0, 0.2857143, 0.5714286, 0.71428573, 1, 1.1428572, -0.2857143, 0.14285715, 1]),
      (8, [0, 0.2509804, 0.5019608, 0.7490196, 1, 1.2, -0.3019608, 0.12156863, 0.9882353]),
      (30, [0, 0.25, 0.5, 0.75, 1, 1.2, -0.3, 0.123456, 0.987654]),
    ] as [(Int, [Float])])
  func featureSqueezingMatchesART(bitDepth: Int, expected: [Float]) throws {
    let input: [Float] = [0, 0.25, 0.5, 0.75, 1, 1.2, -0.3, 0.123456, 0.987654]
    let batch = ImageBatch(
      shape: ImageShape(height: 3, width: 3, channels: 1), pixels: input, labels: [0])
    var squeezer = try FeatureSqueezing(bitDepth: bitDepth, clipValues: .unit)
    squeezer.threadCount = 1
    let output = squeezer.process(batch).pixels
    expectClose(output, expected, tolerance: 1e-7)
  }

  @Test func featureSqueezingRoundsHalfToEvenAtOneBit() throws {
    let batch = ImageBatch(
      shape: ImageShape(height: 1, width: 4, channels: 1), pixels: [0.5, 0.49, 0.51, 1.5],
      labels: [0])
    let output = try FeatureSqueezing(bitDepth: 1, clipValues: .unit).process(batch)
    #expect(output.pixels == [0, 0, 1, 2])
  }

  @Test func featureSqueezingGivesTheSameResultOnOneAndTwoThreads() throws {
    let batch = SpatialSmoothingTests.randomBatch(
      count: 600, height: 4, width: 4, channels: 2, seed: 8)
    var squeezer = try FeatureSqueezing(bitDepth: 5, clipValues: ValueRange(-1, 2))
    squeezer.threadCount = 1
    let single = squeezer.process(batch)
    squeezer.threadCount = 2
    #expect(squeezer.process(batch) == single)
  }

  @Test func rejectsBadParametersWithTheirNames() {
    let cases: [(String, () throws -> Any)] = [
      (
        "spatial-smoothing: window must be an integer in 1...255, got 0",
        {
          try SpatialSmoothing(window: 0)
        }
      ),
      (
        "spatial-smoothing: clipRange must be [lower, upper] with finite lower < upper, "
          + "got [1.0, 0.0]", { try SpatialSmoothing(clipRange: ValueRange(1, 0)) }
      ),
      (
        "feature-squeezing: bitDepth must be an integer in 1...64, got 65",
        {
          try FeatureSqueezing(bitDepth: 65, clipValues: .unit)
        }
      ),
      (
        "feature-squeezing: clipValues must be [lower, upper] with finite lower < upper, "
          + "got [0.0, 0.0]", { try FeatureSqueezing(clipValues: ValueRange(0, 0)) }
      ),
      (
        "total-variation-minimization: norm must be 1 or 2, got 3",
        {
          try TotalVariationMinimization(norm: 3)
        }
      ),
    ]
    for (message, make) in cases {
      do {
        _ = try make()
        Issue.record("accepted: \(message)")
      } catch {
        #expect("\(error)" == message)
      }
    }
  }

  @Test func decodesParametersWithDefaultsAndValidation() throws {
    let decoder = JSONDecoder()
    let smoothing = try decoder.decode(SpatialSmoothing.self, from: Data("{}".utf8))
    #expect(smoothing.window == 3 && smoothing.clipRange == nil)
    let squeezing = try decoder.decode(
      FeatureSqueezing.self, from: Data(#"{"bitDepth": 4, "clipValues": [0, 255]}"#.utf8))
    #expect(squeezing.bitDepth == 4 && squeezing.clipValues == ValueRange(0, 255))
    let tv = try decoder.decode(
      TotalVariationMinimization.self, from: Data(#"{"norm": 1, "seed": 3}"#.utf8))
    #expect(tv.norm == 1 && tv.seed == 3 && tv.keepProbability == 0.3 && tv.lambda == 0.5)
    #expect(tv.maxIterations == 10 && tv.clipValues == nil)
    #expect(throws: DefenseParameterError.self) {
      try decoder.decode(SpatialSmoothing.self, from: Data(#"{"window": -2}"#.utf8))
    }
    #expect(throws: DecodingError.self) {
      try decoder.decode(FeatureSqueezing.self, from: Data(#"{"bitDepth": 4}"#.utf8))
    }
    #expect(throws: DecodingError.self) {
      try decoder.decode(SpatialSmoothing.self, from: Data(#"{"clipRange": [0, 1, 2]}"#.utf8))
    }
    #expect(
      [SpatialSmoothing.typeName, FeatureSqueezing.typeName, TotalVariationMinimization.typeName]
        == ["spatial-smoothing", "feature-squeezing", "total-variation-minimization"])
  }
}
