import BulwarkCore
import BulwarkData

/// Reduces every value to `bitDepth` bits (ART's `FeatureSqueezing`; Xu et al., 2018).
///
/// y = rint((x - lo) / (hi - lo) * (2^b - 1)) / (2^b - 1) * (hi - lo) + lo, with `rint` rounding
/// half to even (at b = 1, 0.5 becomes 0). As in ART, inputs are not clipped: 1.2 in [0, 1] stays
/// 1.2 at every bit depth that can represent it. Like ART under NumPy 2, `(x - lo) / (hi - lo)` is
/// computed in single precision and the rest in double precision, then rounded to `Float`.
public struct FeatureSqueezing: RegisteredPreprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "feature-squeezing"

  /// Bits per value, 1...64.
  public let bitDepth: Int
  /// The value range the levels span (ART's `clip_values`).
  public let clipValues: ValueRange
  /// Threads used by `process`; 1 runs on the calling thread (for benchmarks). Defaults to the
  /// number of active cores.
  public var threadCount: Int = Parallel.defaultThreadCount

  /// The `bitDepth` parameter: bits kept per value, 1...64 (default 8).
  public static let bitDepthParameter = DefenseParameter("bitDepth", default: 8, in: 1...64)
  /// The `clipValues` parameter: the images' range (required, as in ART; the default is not
  /// used).
  public static let clipValuesParameter = DefenseParameter(range: "clipValues", default: .unit)

  /// Creates the defense.
  /// - Parameters:
  ///   - bitDepth: Bits kept per value, 1...64.
  ///   - clipValues: The images' range; lower must be below upper.
  /// - Throws: `DefenseParameterError` for a parameter out of range.
  public init(
    bitDepth: Int = Self.bitDepthParameter.defaultValue, clipValues: ValueRange
  ) throws(DefenseParameterError) {
    self.bitDepth = try Self.bitDepthParameter.validated(bitDepth, stage: Self.typeName)
    self.clipValues = try Self.clipValuesParameter.validated(clipValues, stage: Self.typeName)
  }

  /// Decodes `{ bitDepth: 8, clipValues: [0, 1] }`; `clipValues` is required.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for values
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      bitDepth: parameters.value(Self.bitDepthParameter),
      clipValues: parameters.required(Self.clipValuesParameter))
  }

  /// False: squeezing is deterministic.
  public var isRandomized: Bool { false }

  /// 0.02 (`bulwark bench defenses`: a fiftieth of a LeNet-5 pass).
  public var relativeCost: Double { 0.02 }

  /// Squeezes every value of `batch`.
  /// - Parameter batch: Images, NHWC.
  /// - Returns: The squeezed batch, same shape, labels and class names.
  public func process(_ batch: ImageBatch) -> ImageBatch {
    let size = batch.shape.valueCount
    let lower = clipValues.lower
    let span = Float(Double(clipValues.upper) - Double(lower))
    let levels = Double(sign: .plus, exponent: bitDepth, significand: 1) - 1
    return batch.mappingImageChunks(chunkSize: 256, threads: threadCount) {
      images, source, target in
      Self.squeeze(
        source, into: target, count: images.count * size, lower: lower, span: span,
        levels: levels)
    }
  }

  /// The kernel: a branch-free loop the compiler vectorises. `rint` is `(v + c) - c` with
  /// c = ±2^52, exact round-half-to-even for |v| < 2^52 (larger doubles are already integers).
  /// For the usual range [0, 1] the single-precision normalisation is the identity and is
  /// skipped; the final scaling multiplies by (hi - lo) / (2^b - 1), which differs from ART's
  /// divide-then-multiply by at most one double-precision rounding, invisible in `Float`.
  static func squeeze(
    _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int,
    lower: Float, span: Float, levels: Double
  ) {
    if lower == 0 && span == 1 {
      squeeze(source, into: target, count: count, levels: levels, normalize: { $0 })
    } else {
      squeeze(
        source, into: target, count: count, levels: levels, offset: Double(lower),
        scale: Double(span), normalize: { ($0 - lower) / span })
    }
  }

  @inline(__always)
  private static func squeeze(
    _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int,
    levels: Double, offset: Double = 0, scale: Double = 1, normalize: (Float) -> Float
  ) {
    let factor = scale / levels
    for index in 0..<count {
      let value = Double(normalize(source[index])) * levels
      let shift: Double = value < 0 ? -0x1p52 : 0x1p52
      let rounded = abs(value) < 0x1p52 ? (value + shift) - shift : value
      target[index] = Float(rounded * factor + offset)
    }
  }
}
