import Bulwark
import Foundation

/// A Gaussian blur over each image's two spatial axes, channel by channel: the example of a
/// user's own defense (`{ type: "gaussian-blur", sigma: 1, radius: 2 }`).
///
/// The kernel is `exp(-k² / 2σ²)` for `k` in `-radius...radius`, normalised to sum 1, applied
/// along the width then along the height, with scipy's "reflect" border (`d c b a | a b c d |
/// d c b a`). It equals `scipy.ndimage.gaussian_filter(x, sigma=(0, σ, σ, 0), mode="reflect",
/// truncate=radius / σ)` up to float32 rounding. Deterministic.
struct GaussianBlur: RegisteredPreprocessor {
  static let typeName = "gaussian-blur"

  /// The standard deviation of the kernel, in pixels.
  let sigma: Double
  /// The kernel's half-width: it spans `2 * radius + 1` pixels.
  let radius: Int

  var isRandomized: Bool { false }

  /// The kernel's weights, from `-radius` to `radius`.
  private let weights: [Float]

  /// Creates a blur.
  /// - Parameters:
  ///   - sigma: The standard deviation in pixels, more than 0.
  ///   - radius: The half-width, 0...64; by default `Int(4 * sigma + 0.5)` as in scipy.
  /// - Throws: `DefenseParameterError` for a parameter out of range.
  init(sigma: Double = 1, radius: Int? = nil) throws(DefenseParameterError) {
    guard sigma.isFinite, sigma > 0, sigma <= 64 else {
      throw DefenseParameterError(
        stage: Self.typeName, parameter: "sigma", expected: "a number in (0, 64]",
        found: "\(sigma)")
    }
    let radius = radius ?? Int(4 * sigma + 0.5)
    guard (0...64).contains(radius) else {
      throw DefenseParameterError(
        stage: Self.typeName, parameter: "radius", expected: "an integer in 0...64",
        found: "\(radius)")
    }
    self.sigma = sigma
    self.radius = radius
    let raw = (-radius...radius).map { k in exp(-Double(k * k) / (2 * sigma * sigma)) }
    let total = raw.reduce(0, +)
    weights = raw.map { Float($0 / total) }
  }

  enum CodingKeys: String, CodingKey {
    case sigma, radius
  }

  /// Decodes `{ sigma: 1, radius: 2 }`; both are optional.
  /// - Parameter decoder: The stage's decoder.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for
  ///   values out of range.
  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try self.init(
      sigma: container.decodeIfPresent(Double.self, forKey: .sigma) ?? 1,
      radius: container.decodeIfPresent(Int.self, forKey: .radius))
  }

  /// Blurs every image of the batch.
  /// - Parameter batch: Images, NHWC.
  /// - Returns: The blurred images, with the batch's labels and class names.
  func process(_ batch: ImageBatch) -> ImageBatch {
    let (height, width, channels) = (batch.shape.height, batch.shape.width, batch.shape.channels)
    let columns = Self.reflectedIndices(count: width, radius: radius)
    let rows = Self.reflectedIndices(count: height, radius: radius)
    let imageSize = height * width * channels
    var output = [Float](repeating: 0, count: batch.pixels.count)
    var pass = [Float](repeating: 0, count: imageSize)
    let taps = weights.count
    batch.pixels.withUnsafeBufferPointer { input in
      output.withUnsafeMutableBufferPointer { output in
        pass.withUnsafeMutableBufferPointer { pass in
          weights.withUnsafeBufferPointer { weights in
            for image in 0..<batch.count {
              let source = image &* imageSize
              // Along the width: input -> pass.
              for y in 0..<height {
                let row = source &+ y &* width &* channels
                for x in 0..<width {
                  for c in 0..<channels {
                    var sum: Float = 0
                    for t in 0..<taps {
                      sum += weights[t] * input[row &+ columns[x &+ t] &* channels &+ c]
                    }
                    pass[(y &* width &+ x) &* channels &+ c] = sum
                  }
                }
              }
              // Along the height: pass -> output.
              for y in 0..<height {
                for x in 0..<width {
                  for c in 0..<channels {
                    var sum: Float = 0
                    for t in 0..<taps {
                      sum += weights[t] * pass[(rows[y &+ t] &* width &+ x) &* channels &+ c]
                    }
                    output[source &+ (y &* width &+ x) &* channels &+ c] = sum
                  }
                }
              }
            }
          }
        }
      }
    }
    return ImageBatch(
      shape: batch.shape, pixels: output, labels: batch.labels, classNames: batch.classNames)
  }

  /// For every tap position `i - radius` (i in `0..<count + 2 * radius`), the pixel it reads
  /// under scipy's "reflect" border, which repeats the edge pixel and has period `2 * count`.
  private static func reflectedIndices(count: Int, radius: Int) -> [Int] {
    let period = 2 * count
    return (-radius..<(count + radius)).map { position in
      let folded = ((position % period) + period) % period
      return folded < count ? folded : period - 1 - folded
    }
  }
}
