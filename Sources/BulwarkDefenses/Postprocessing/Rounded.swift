internal import CBulwarkKernels
import Foundation

/// Rounds probabilities to a number of decimals (ART's `Rounded`, which calls `numpy.around`).
///
/// Exactly as NumPy does on float32 arrays: y = rint(p * 10^d) / 10^d with every operation in
/// single precision and `rint` rounding half to even, so the tie is decided on the float32
/// product (0.2345 at 3 decimals gives 0.234, because 0.2345f * 1000 rounds to 234.5 in float32).
/// When 10^d overflows `Float` (d > 38) values are returned unchanged. The kernel is vectorised
/// float32 (`CBulwarkKernels`) and divides without a division instruction, with the same bits.
public struct Rounded: RegisteredPostprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "rounded"

  /// Decimals kept.
  public let decimals: Int

  /// The `decimals` parameter: decimals kept, an integer >= 1 (default 3).
  public static let decimalsParameter = DefenseParameter(
    "decimals", default: 3, expected: "an integer >= 1", accepts: { $0 >= 1 })

  /// Creates the defense.
  /// - Parameter decimals: Decimals kept, at least 1.
  /// - Throws: `DefenseParameterError` for a value out of range.
  public init(decimals: Int = Self.decimalsParameter.defaultValue) throws(DefenseParameterError) {
    self.decimals = try Self.decimalsParameter.validated(decimals, stage: Self.typeName)
  }

  /// Decodes `{ decimals: 3 }`; the key is optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for a value of the wrong type, `DefenseParameterError` for one
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(decimals: parameters.value(Self.decimalsParameter))
  }

  /// Rounds every value.
  /// - Parameter probabilities: One row per image.
  /// - Returns: The rounded table.
  /// - Complexity: O(rows x columns), vectorised.
  public func process(_ probabilities: Probabilities) -> Probabilities {
    process(probabilities, portable: false)
  }

  /// `process(_:)`, with `portable` forcing the kernel's baseline variant (tests compare the two).
  func process(_ probabilities: Probabilities, portable: Bool) -> Probabilities {
    let scale = Float(pow(10, Double(min(decimals, 64))))
    guard scale.isFinite else { return probabilities }
    var result = probabilities
    result.values = [Float](unsafeUninitializedCapacity: probabilities.values.count) {
      output, initialized in
      probabilities.values.withUnsafeBufferPointer { input in
        bulwark_round_scaled(
          input.baseAddress, output.baseAddress, input.count, scale, portable ? 1 : 0)
      }
      initialized = probabilities.values.count
    }
    return result
  }
}
