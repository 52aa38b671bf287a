/// The range of pixel values a defense works in, written `[lower, upper]` in pipeline files
/// (ART's `clip_values`).
///
/// Unlike `ClosedRange`, a `ValueRange` can hold bounds in the wrong order, so that a defense can
/// reject them with a `DefenseParameterError` instead of crashing.
public struct ValueRange: Equatable, Hashable, Sendable, Codable, CustomStringConvertible {
  /// The smallest allowed value.
  public var lower: Float
  /// The largest allowed value.
  public var upper: Float

  /// Creates a range; the defense that receives it validates the order.
  /// - Parameters:
  ///   - lower: The smallest allowed value.
  ///   - upper: The largest allowed value.
  public init(_ lower: Float, _ upper: Float) {
    self.lower = lower
    self.upper = upper
  }

  /// The unit range [0, 1] of Bulwark's image batches.
  public static let unit = ValueRange(0, 1)

  /// Decodes a two-element array `[lower, upper]`.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` unless the value is an array of exactly two numbers.
  public init(from decoder: any Decoder) throws {
    var container = try decoder.unkeyedContainer()
    let lower = try container.decode(Float.self)
    let upper = try container.decode(Float.self)
    if !container.isAtEnd {
      throw DecodingError.dataCorruptedError(
        in: container, debugDescription: "expected [lower, upper], found more than two values")
    }
    self.init(lower, upper)
  }

  /// Encodes as `[lower, upper]`.
  /// - Parameter encoder: The encoder to write to.
  /// - Throws: Whatever the encoder throws.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.unkeyedContainer()
    try container.encode(lower)
    try container.encode(upper)
  }

  /// `[0.0, 1.0]`.
  public var description: String { "[\(lower), \(upper)]" }

  /// `value` clipped into the range.
  func clip(_ value: Float) -> Float {
    value < lower ? lower : (value > upper ? upper : value)
  }
}
