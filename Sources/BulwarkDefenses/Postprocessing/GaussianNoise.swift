import BulwarkCore
import BulwarkData

/// Adds seeded Gaussian noise to probabilities (ART's `GaussianNoise`).
///
/// Adds N(0, scale²) to every value. If every input row is a probability vector (all values in
/// [0, 1], sum within 1e-3 of 1), negative results are then set to 0 and each row is divided by
/// its sum (a row whose values all became 0 stays all zeros: an abstention, where ART divides by
/// zero). Row `i` draws from `SeededGenerator(seed: seed, stream: i)`, so the same seed gives the
/// same noise on every machine and thread count, and a row's noise does not depend on the
/// other rows. Noise is drawn in double precision.
public struct GaussianNoise: RegisteredPostprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "gaussian-noise"

  /// The noise's standard deviation.
  public let scale: Double
  /// The seed of the noise.
  public let seed: UInt64

  /// The largest `scale`: 1,000 standard deviations of noise drown any probability or logit,
  /// and the sums a larger scale draws leave the range of `Float` (`scale: 1e308` wrote NaNs).
  public static let maximumScale = 1_000.0

  /// The `scale` parameter: the noise's standard deviation, a number in (0, 1000] (default
  /// 0.2). ART sets no bound.
  public static let scaleParameter = DefenseParameter<Double>(
    "scale", default: 0.2, expected: "a number > 0 and <= \(Int(maximumScale))",
    accepts: { $0 > 0 && $0 <= maximumScale })
  /// The `seed` parameter: the noise's seed (default 0).
  public static let seedParameter = DefenseParameter<UInt64>(
    "seed", default: 0, expected: "an integer >= 0")

  /// Creates the defense.
  /// - Parameters:
  ///   - scale: The noise's standard deviation, greater than 0 and at most ``maximumScale``.
  ///   - seed: The noise's seed.
  /// - Throws: `DefenseParameterError` for a scale out of range.
  public init(
    scale: Double = Self.scaleParameter.defaultValue, seed: UInt64 = Self.seedParameter.defaultValue
  ) throws(DefenseParameterError) {
    self.scale = try Self.scaleParameter.validated(scale, stage: Self.typeName)
    self.seed = seed
  }

  /// Decodes `{ scale: 0.2, seed: 0 }`; both keys are optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for values
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      scale: parameters.value(Self.scaleParameter), seed: parameters.value(Self.seedParameter))
  }

  /// Adds noise to every value, renormalising when the input rows are probability vectors.
  /// - Parameter probabilities: One row per image.
  /// - Returns: The noisy table.
  public func process(_ probabilities: Probabilities) -> Probabilities {
    var result = probabilities
    let columns = probabilities.columns
    let renormalise = (0..<probabilities.rows).allSatisfy { index in
      let row = probabilities.row(index)
      let sum = row.reduce(0.0) { $0 + Double($1) }
      return row.allSatisfy { $0 >= 0 && $0 <= 1 } && abs(sum - 1) <= 1e-3
    }
    for row in 0..<probabilities.rows {
      var generator = SeededGenerator(seed: seed, stream: UInt64(row))
      let start = row * columns
      var sum = 0.0
      for column in 0..<columns {
        var value = Double(probabilities.values[start + column]) + scale * generator.gaussian()
        if renormalise && value < 0 { value = 0 }
        result.values[start + column] = Float(value)
        sum += value
      }
      if renormalise {
        for column in 0..<columns {
          result.values[start + column] =
            sum > 0 ? Float(Double(result.values[start + column]) / sum) : 0
        }
      }
    }
    return result
  }
}
