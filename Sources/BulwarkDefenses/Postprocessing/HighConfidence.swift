/// Zeroes every probability strictly below a cutoff (ART's `HighConfidence`).
///
/// Values equal to the cutoff are kept; rows are not renormalised. A row with no value at or
/// above the cutoff becomes all zeros: an abstention (see `Probabilities.abstainedRows`).
public struct HighConfidence: Postprocessor, Decodable {
  /// The name of this defense in pipeline files.
  public static let typeName = "high-confidence"

  /// Values below this become 0.
  public let cutoff: Float

  /// Creates the defense.
  /// - Parameter cutoff: Greater than 0 and finite (default 0.25).
  /// - Throws: `DefenseParameterError` for a cutoff out of range.
  public init(cutoff: Float = 0.25) throws(DefenseParameterError) {
    try Validate.check(
      cutoff > 0 && cutoff.isFinite, stage: Self.typeName, parameter: "cutoff",
      expected: "a finite number > 0", found: "\(cutoff)")
    self.cutoff = cutoff
  }

  enum CodingKeys: String, CodingKey {
    case cutoff
  }

  /// Decodes `{ cutoff: 0.25 }`; the key is optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for a value of the wrong type, `DefenseParameterError` for a value
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try self.init(cutoff: container.decodeIfPresent(Float.self, forKey: .cutoff) ?? 0.25)
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
