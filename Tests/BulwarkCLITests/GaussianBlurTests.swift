import BulwarkData
import BulwarkDefenses
import BulwarkPipeline
import BulwarkTestSupport
import Foundation
import Testing

@testable import bulwark_example

@Suite struct GaussianBlurTests {
  /// sigma = 1 / sqrt(2 ln 2) makes exp(-1 / 2σ²) = 1/2, so radius 1 gives the kernel
  /// [1/4, 1/2, 1/4].
  static let halfSigma = 1 / (2 * log(2.0)).squareRoot()

  @Test func blursACornerImpulseWithTheReflectBorder() throws {
    // A 1 in the top-left corner of a 3 x 3 image. Along each axis the reflect border reads
    // the corner twice: [1/4 + 1/2, 1/4, 0] = [3/4, 1/4, 0]; the 2-D result is the outer
    // product of that with itself, and the total stays 1.
    var pixels = [Float](repeating: 0, count: 9)
    pixels[0] = 1
    let batch = ImageBatch(
      shape: ImageShape(height: 3, width: 3, channels: 1), pixels: pixels, labels: [0])
    let blurred = try GaussianBlur(sigma: Self.halfSigma, radius: 1).process(batch)
    let expected: [Float] = [9, 3, 0, 3, 1, 0, 0, 0, 0].map { $0 / 16 }
    expectClose(blurred.pixels, expected, tolerance: 1e-6)
    #expect(blurred.labels == [0])
  }

  @Test func keepsChannelsAndImagesApart() throws {
    // Two images of 1 x 3 x 2 channels: channel 0 an impulse in the middle, channel 1
    // constant (a constant stays constant under a normalised kernel).
    let image: [Float] = [0, 0.5, 1, 0.5, 0, 0.5]
    let batch = ImageBatch(
      shape: ImageShape(height: 1, width: 3, channels: 2), pixels: image + image.map { $0 / 2 },
      labels: [1, 2])
    let blurred = try GaussianBlur(sigma: Self.halfSigma, radius: 1).process(batch)
    let expected: [Float] = [0.25, 0.5, 0.5, 0.5, 0.25, 0.5]
    let want = expected + expected.map { $0 / 2 }
    expectClose(blurred.pixels, want, tolerance: 1e-6)
  }

  @Test func matchesScipyWhenTheKernelIsWiderThanTheImage() throws {
    // scipy.ndimage.gaussian_filter(x, sigma=(0, 1.5, 1.5, 0), mode="reflect", truncate=2)
    // for x = arange(6).reshape(1, 2, 3, 1) / 5: radius 3 > width 3 reflects twice.
    let batch = ImageBatch(
      shape: ImageShape(height: 2, width: 3, channels: 1), pixels: (0..<6).map { Float($0) / 5 },
      labels: [0])
    let blurred = try GaussianBlur(sigma: 1.5, radius: 3).process(batch)
    let scipy: [Float] = [
      0.42498761, 0.48556381, 0.54614001, 0.45385999, 0.51443619, 0.57501239,
    ]
    expectClose(blurred.pixels, scipy, tolerance: 1e-6)
  }

  @Test(arguments: [
    ("{ type: 'gaussian-blur', sigma: 0 }", "sigma must be a number in (0, 64], got 0.0"),
    ("{ type: 'gaussian-blur', radius: -1 }", "radius must be an integer in 0...256, got -1"),
    ("{ type: 'gaussian-blur', sigma: 65 }", "sigma must be a number in (0, 64], got 65.0"),
    ("{ type: 'gaussian-blur', sigma: 1, radious: 2 }", "radious: unknown key"),
  ])
  func rejectsBadParameters(stage: String, message: String) throws {
    let registry = try DefenseRegistry.standard.registering([GaussianBlur.self])
    let error = try #require(throws: PipelineErrors.self) {
      try registry.preprocessor(json5: stage)
    }
    #expect(error.description.contains(message), "\(error)")
  }

  @Test func defaultsTheRadiusToFourSigmaAsScipy() throws {
    #expect(try GaussianBlur(sigma: 1).radius == 4)
    #expect(try GaussianBlur(sigma: 0.6).radius == 2)
  }

  /// Every documented sigma works: the default radius reaches 256 at sigma 64 (it used to stop
  /// at 64, so any sigma above 16 threw), and a kernel far wider than the image keeps a
  /// constant image constant.
  @Test(arguments: [16.0, 16.2, 40, 64])
  func acceptsEveryDocumentedSigma(sigma: Double) throws {
    let blur = try GaussianBlur(sigma: sigma)
    #expect(blur.radius == Int(4 * sigma + 0.5))
    let batch = ImageBatch(
      shape: ImageShape(height: 3, width: 4, channels: 2),
      pixels: [Float](repeating: 0.25, count: 24), labels: [0])
    let blurred = blur.process(batch)
    #expect(blurred.pixels.count == 24)
    #expect(blurred.pixels.allSatisfy { abs($0 - 0.25) < 1e-5 }, "\(blurred.pixels)")
  }
}
