/// Zeroes every probability strictly below a cutoff (ART's `HighConfidence`).
///
/// Values equal to the cutoff are kept; rows are not renormalised. A row with no value at or
/// above the cutoff becomes all zeros: an abstention (see `Probabilities.abstainedRows`).
public struct HighConfidence: RegisteredPostprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "high-confidence"

  /// Values below this become 0.
  public let cutoff: Float

  /// The `cutoff` parameter: the smallest probability kept, a finite number > 0 (default 0.25).
  public static let cutoffParameter = DefenseParameter<Float>(
    "cutoff", default: 0.25, expected: "a finite number > 0", accepts: { $0 > 0 && $0.isFinite })

  /// Creates the defense.
  /// - Parameter cutoff: The smallest probability kept, finite and greater than 0.
  /// - Throws: `DefenseParameterError` for a cutoff out of range.
  public init(cutoff: Float = Self.cutoffParameter.defaultValue) throws(DefenseParameterError) {
    self.cutoff = try Self.cutoffParameter.validated(cutoff, stage: Self.typeName)
  }

  /// Decodes `{ cutoff: 0.25 }`; the key is optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for a value of the wrong type, `DefenseParameterError` for one
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(cutoff: parameters.value(Self.cutoffParameter))
  }

  /// Zeroes the values below the cutoff.
  /// - Parameter probabilities: One row per image.
  /// - Returns: The same table with small values set to 0.
  public func process(_ probabilities: Probabilities) -> Probabilities {
    var result = probabilities
    let cutoff = self.cutoff
    result.values.withUnsafeMutableBufferPointer { values in
      for index in values.indices {
        values[index] = values[index] < cutoff ? 0 : values[index]
      }
    }
    return result
  }
}
