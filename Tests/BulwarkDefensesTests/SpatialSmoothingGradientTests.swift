import BulwarkCore
import BulwarkData
import Testing

@testable import BulwarkDefenses

/// The median filter's exact subgradient: each output's gradient lands on the input pixel its
/// median came from.
@Suite struct SpatialSmoothingGradientTests {
  /// Distinct values 0.02 apart, shuffled: small moves never reorder a window.
  static func distinctImage(height: Int, width: Int, channels: Int, seed: UInt64) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    var values = (0..<(height * width * channels)).map { Float($0) * 0.02 }
    generator.shuffle(&values)
    return ImageBatch(
      shape: ImageShape(height: height, width: width, channels: channels), pixels: values,
      labels: [0])
  }

  @Test(arguments: [2, 3, 4])
  func matchesFiniteDifferences(window: Int) throws {
    let filter = try SpatialSmoothing(window: window)
    let input = Self.distinctImage(height: 4, width: 5, channels: 2, seed: UInt64(window))
    var generator = SeededGenerator(seed: 40)
    let weights = input.pixels.map { _ in 2 * generator.unitFloat() - 1 }
    func objective(_ batch: ImageBatch) -> Double {
      zip(filter.process(batch).pixels, weights).reduce(0) { $0 + Double($1.0 * $1.1) }
    }
    let analytic = filter.backward(gradient: weights, input: input)
    #expect(analytic.count == input.pixels.count)
    for index in input.pixels.indices {
      var plus = input
      plus.pixels[index] += 1e-3
      var minus = input
      minus.pixels[index] -= 1e-3
      let numeric = (objective(plus) - objective(minus)) / 2e-3
      #expect(abs(Double(analytic[index]) - numeric) < 1e-3, "value \(index)")
    }
    // The gradient is conserved: every output sends all of its gradient to one input.
    #expect(abs(analytic.reduce(0, +) - weights.reduce(0, +)) < 1e-4)
  }

  /// A 1 x 3 image [0.1, 0.9, 0.5] with window 3 and the reflect border: the windows read
  /// [0.1, 0.1, 0.9], [0.1, 0.9, 0.5], [0.9, 0.5, 0.5] vertically repeated, so the medians are
  /// 0.1 (from pixel 0), 0.5 (pixel 2) and 0.5 (pixel 2).
  @Test func routesEachOutputToItsMedianPixel() throws {
    let input = ImageBatch(
      shape: ImageShape(height: 1, width: 3, channels: 1), pixels: [0.1, 0.9, 0.5], labels: [0])
    let filter = try SpatialSmoothing(window: 3)
    #expect(filter.process(input).pixels == [0.1, 0.5, 0.5])
    #expect(filter.backward(gradient: [1, 10, 100], input: input) == [1, 0, 110])
  }

  @Test func clippedOutputsAreFlat() throws {
    let input = ImageBatch(
      shape: ImageShape(height: 1, width: 3, channels: 1), pixels: [0.1, 0.9, 0.5], labels: [0])
    let filter = try SpatialSmoothing(window: 3, clipRange: ValueRange(0.2, 1))
    #expect(filter.backward(gradient: [1, 10, 100], input: input) == [0, 0, 110])
  }
}
