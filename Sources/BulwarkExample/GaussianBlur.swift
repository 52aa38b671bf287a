import Bulwark
import Foundation

/// A Gaussian blur over each image's two spatial axes, channel by channel: the example of a
/// user's own defense (`{ type: "gaussian-blur", sigma: 1, radius: 2 }`).
///
/// The kernel is `exp(-k² / 2σ²)` for `k` in `-radius...radius`, normalised to sum 1, applied
/// along the width then along the height, with scipy's "reflect" border (`d c b a | a b c d |
/// d c b a`). It equals `scipy.ndimage.gaussian_filter(x, sigma=(0, σ, σ, 0), mode="reflect",
/// truncate=radius / σ)` up to float32 rounding. Deterministic; images are spread over threads.
struct GaussianBlur: RegisteredPreprocessor {
  static let typeName = "gaussian-blur"

  /// The `sigma` parameter: the kernel's standard deviation in pixels, in (0, 64] (default 1).
  static let sigmaParameter = DefenseParameter<Double>(
    "sigma", default: 1, expected: "a number in (0, 64]", accepts: { $0 > 0 && $0 <= 64 })
  /// The `radius` parameter: the kernel's half-width, 0...256 (by default `round(4 σ)`, as
  /// scipy's, which reaches 256 at σ = 64).
  static let radiusParameter = DefenseParameter("radius", default: 0, in: 0...256)

  /// The standard deviation of the kernel, in pixels.
  let sigma: Double
  /// The kernel's half-width: it spans `2 * radius + 1` pixels.
  let radius: Int
  /// The kernel's weights, from `-radius` to `radius`.
  private let weights: [Float]

  /// Creates a blur.
  /// - Parameters:
  ///   - sigma: The standard deviation in pixels, in (0, 64].
  ///   - radius: The half-width, 0...256; by default `Int(4 * sigma + 0.5)` as in scipy.
  /// - Throws: `DefenseParameterError` for a parameter out of range.
  init(sigma: Double = Self.sigmaParameter.defaultValue, radius: Int? = nil)
    throws(DefenseParameterError)
  {
    self.sigma = try Self.sigmaParameter.validated(sigma, stage: Self.typeName)
    self.radius = try Self.radiusParameter.validated(
      radius ?? Int(4 * sigma + 0.5), stage: Self.typeName)
    let raw = (-self.radius...self.radius).map { k in exp(-Double(k * k) / (2 * sigma * sigma)) }
    let total = raw.reduce(0, +)
    weights = raw.map { Float($0 / total) }
  }

  /// Decodes `{ sigma: 1, radius: 2 }`; both are optional.
  /// - Parameter decoder: The stage's decoder.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for
  ///   values out of range.
  init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      sigma: parameters.value(Self.sigmaParameter),
      radius: parameters.valueIfPresent(Self.radiusParameter))
  }

  /// Blurs every image of the batch, images spread over threads.
  /// - Parameter batch: Images, NHWC.
  /// - Returns: The blurred images, with the batch's labels and class names.
  func process(_ batch: ImageBatch) -> ImageBatch {
    let (height, width, channels) = (batch.shape.height, batch.shape.width, batch.shape.channels)
    let columns = Self.reflectedIndices(count: width, radius: radius)
    let rows = Self.reflectedIndices(count: height, radius: radius)
    let weights = self.weights
    return batch.mappingImages { _, source, target in
      func at(_ y: Int, _ x: Int, _ c: Int) -> Int { (y * width + x) * channels + c }
      // Along the width into `pass`, then along the height into `target`.
      var pass = [Float](repeating: 0, count: source.count)
      for y in 0..<height {
        for x in 0..<width {
          for c in 0..<channels {
            pass[at(y, x, c)] = weights.indices.reduce(0) { sum, t in
              sum + weights[t] * source[at(y, columns[x + t], c)]
            }
          }
        }
      }
      for y in 0..<height {
        for x in 0..<width {
          for c in 0..<channels {
            target[at(y, x, c)] = weights.indices.reduce(0) { sum, t in
              sum + weights[t] * pass[at(rows[y + t], x, c)]
            }
          }
        }
      }
    }
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
