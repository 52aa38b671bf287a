import Foundation

/// Perturbs probabilities with a reverse sigmoid (ART's `ReverseSigmoid`; Lee et al., 2019,
/// "Defending Against NN Model Stealing Attacks Using Deceptive Perturbations").
///
/// Per value: pc = clip(p, 1e-9, 1 - 1e-9); r = beta * (sigmoid(gamma * ln(pc / (1 - pc))) - 1/2);
/// q = clip(p - r, 0, 1) with the raw p; then each row is divided by its sum. The clip runs in
/// the probabilities' single precision, as ART's does on float32 arrays: 1 - 1e-9 rounds to 1,
/// so a probability of exactly 1 gets the full perturbation beta / 2 (clipping in double
/// instead would differ from ART by up to 0.1 on confident rows). The rest is computed in double
/// precision and rounded to `Float`. A row whose q all clip to 0 stays all zeros (an abstention)
/// where ART would divide by zero.
public struct ReverseSigmoid: RegisteredPostprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "reverse-sigmoid"

  /// ART's clip bounds, in single precision (the upper one is exactly 1).
  static let lowerClip = Float(1e-9)
  static let upperClip = Float(1 - 1e-9)

  /// The perturbation's magnitude.
  public let beta: Double
  /// The sigmoid's slope.
  public let gamma: Double

  /// The `beta` parameter: the perturbation's magnitude, a finite number > 0 (default 1).
  public static let betaParameter = DefenseParameter<Double>(
    "beta", default: 1, expected: "a finite number > 0", accepts: { $0 > 0 && $0.isFinite })
  /// The `gamma` parameter: the sigmoid's slope, a finite number > 0 (default 0.1).
  public static let gammaParameter = DefenseParameter<Double>(
    "gamma", default: 0.1, expected: "a finite number > 0", accepts: { $0 > 0 && $0.isFinite })

  /// Creates the defense.
  /// - Parameters:
  ///   - beta: Greater than 0 and finite.
  ///   - gamma: Greater than 0 and finite.
  /// - Throws: `DefenseParameterError` for a parameter out of range.
  public init(
    beta: Double = Self.betaParameter.defaultValue, gamma: Double = Self.gammaParameter.defaultValue
  ) throws(DefenseParameterError) {
    self.beta = try Self.betaParameter.validated(beta, stage: Self.typeName)
    self.gamma = try Self.gammaParameter.validated(gamma, stage: Self.typeName)
  }

  /// Decodes `{ beta: 1, gamma: 0.1 }`; both keys are optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for values
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      beta: parameters.value(Self.betaParameter), gamma: parameters.value(Self.gammaParameter))
  }

  /// Perturbs and renormalises every row.
  /// - Parameter probabilities: One row per image.
  /// - Returns: The perturbed table.
  public func process(_ probabilities: Probabilities) -> Probabilities {
    var result = probabilities
    let columns = probabilities.columns
    var perturbed = [Double](repeating: 0, count: columns)
    for row in 0..<probabilities.rows {
      let start = row * columns
      var sum = 0.0
      for column in 0..<columns {
        let value = probabilities.values[start + column]
        let p = Double(value)
        let clipped = Double(min(max(value, Self.lowerClip), Self.upperClip))
        let r = beta * (1 / (1 + exp(-gamma * log(clipped / (1 - clipped)))) - 0.5)
        let q = min(max(p - r, 0), 1)
        perturbed[column] = q
        sum += q
      }
      for column in 0..<columns {
        result.values[start + column] = sum > 0 ? Float(perturbed[column] / sum) : 0
      }
    }
    return result
  }
}
