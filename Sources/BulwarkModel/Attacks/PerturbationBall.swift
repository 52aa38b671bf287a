import BulwarkCore
import BulwarkData
import Foundation

/// The set an attack's adversarial image stays in: the ε-ball of a norm around the clean image,
/// intersected with the pixel box [0, 1]. Every attack projects onto it after each step, so
/// that its results stay in the ball and in [0, 1].
public struct PerturbationBall: Sendable, Equatable {
  /// The ball's norm.
  public var norm: AttackNorm
  /// The ball's radius.
  public var epsilon: Float

  /// Creates a ball.
  /// - Parameters:
  ///   - norm: L-infinity or L2.
  ///   - epsilon: The radius, finite and at least 0.
  public init(norm: AttackNorm, epsilon: Float) {
    self.norm = norm
    self.epsilon = epsilon
  }

  /// Checks the radius.
  /// - Throws: `ModelError` for a negative or non-finite ε.
  func check() throws {
    guard epsilon.isFinite, epsilon >= 0 else {
      throw ModelError(field: "epsilon", expected: "a finite value >= 0", found: "\(epsilon)")
    }
  }

  /// Projects `pixels` (whole images of `imageSize` values) onto the ball around `clean`, then
  /// clips to [0, 1] (which keeps them inside: the box and the ball are both convex and the
  /// clean image lies in both, and clipping only moves a value toward its clean value's box).
  /// - Parameters:
  ///   - pixels: The images to project, in place.
  ///   - clean: The clean images, the same count.
  ///   - imageSize: Values per image.
  public func project(_ pixels: inout [Float], around clean: [Float], imageSize: Int) {
    switch norm {
    case .infinity:
      for index in pixels.indices {
        let delta = min(max(pixels[index] - clean[index], -epsilon), epsilon)
        pixels[index] = min(max(clean[index] + delta, 0), 1)
      }
    case .l2:
      for start in stride(from: 0, to: pixels.count, by: max(imageSize, 1)) {
        let range = start..<(start + imageSize)
        var sum = 0.0
        for index in range {
          let delta = Double(pixels[index] - clean[index])
          sum += delta * delta
        }
        let length = sum.squareRoot()
        let factor = length > Double(epsilon) ? Float(Double(epsilon) / length) : 1
        for index in range {
          let delta = (pixels[index] - clean[index]) * factor
          pixels[index] = min(max(clean[index] + delta, 0), 1)
        }
      }
    }
  }

  /// The steepest-ascent direction of the norm for a gradient, scaled by `scale`: the sign of
  /// every value for L-infinity, the gradient over its L2 length (per image) for L2. A zero
  /// gradient gives a zero step.
  /// - Parameters:
  ///   - gradient: The gradient, whole images.
  ///   - scale: The step's length in the norm.
  ///   - imageSize: Values per image.
  /// - Returns: The step, one value per pixel value.
  public func step(along gradient: [Float], scale: Float, imageSize: Int) -> [Float] {
    switch norm {
    case .infinity:
      return gradient.map { g in scale * (g > 0 ? 1 : (g < 0 ? -1 : 0)) }
    case .l2:
      var result = [Float](repeating: 0, count: gradient.count)
      for start in stride(from: 0, to: gradient.count, by: max(imageSize, 1)) {
        var sum = 0.0
        for index in start..<(start + imageSize) {
          sum += Double(gradient[index] * gradient[index])
        }
        guard sum > 0 else { continue }
        let factor = Float(Double(scale) / sum.squareRoot())
        for index in start..<(start + imageSize) { result[index] = factor * gradient[index] }
      }
      return result
    }
  }

  /// A seeded random point on the ball's surface around every clean image, clipped to [0, 1]:
  /// `x + ε t / ||t||` with t uniform in [-1, 1] per value (L-infinity) or Gaussian (L2), as
  /// APGD starts. Image `i` draws from its own stream of `seed`, so the start does not depend
  /// on which other images are in the batch.
  /// - Parameters:
  ///   - clean: The clean images.
  ///   - imageSize: Values per image.
  ///   - seed: The seed.
  ///   - streams: The stream of each image (its index in the caller's full set).
  /// - Returns: The starting images.
  public func surfaceStart(
    around clean: [Float], imageSize: Int, seed: UInt64, streams: [Int]
  ) -> [Float] {
    var result = clean
    for (image, stream) in streams.enumerated() {
      var generator = SeededGenerator(seed: seed, stream: UInt64(stream))
      let range = (image * imageSize)..<((image + 1) * imageSize)
      let noise = range.map { _ in
        norm == .infinity ? Double(2 * generator.unitFloat() - 1) : generator.gaussian()
      }
      let length =
        norm == .infinity
        ? noise.map(abs).max() ?? 0 : noise.reduce(0) { $0 + $1 * $1 }.squareRoot()
      let factor = Double(epsilon) / (length + 1e-12)
      for (offset, index) in range.enumerated() {
        result[index] = Float(min(max(Double(clean[index]) + noise[offset] * factor, 0), 1))
      }
    }
    return result
  }
}
