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
public struct ReverseSigmoid: Postprocessor, Decodable {
  /// The name of this defense in pipeline files.
  public static let typeName = "reverse-sigmoid"

  /// ART's clip bounds, in single precision (the upper one is exactly 1).
  static let lowerClip = Float(1e-9)
  static let upperClip = Float(1 - 1e-9)

  /// The perturbation's magnitude.
  public let beta: Double
  /// The sigmoid's slope.
  public let gamma: Double

  /// Creates the defense.
  /// - Parameters:
  ///   - beta: Greater than 0 and finite (default 1).
  ///   - gamma: Greater than 0 and finite (default 0.1).
  /// - Throws: `DefenseParameterError` for a parameter out of range.
  public init(beta: Double = 1, gamma: Double = 0.1) throws(DefenseParameterError) {
    try Validate.check(
      beta > 0 && beta.isFinite, stage: Self.typeName, parameter: "beta",
      expected: "a finite number > 0", found: "\(beta)")
    try Validate.check(
      gamma > 0 && gamma.isFinite, stage: Self.typeName, parameter: "gamma",
      expected: "a finite number > 0", found: "\(gamma)")
    self.beta = beta
    self.gamma = gamma
  }

  enum CodingKeys: String, CodingKey {
    case beta, gamma
  }

  /// Decodes `{ beta: 1, gamma: 0.1 }`; both keys are optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for values
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try self.init(
      beta: container.decodeIfPresent(Double.self, forKey: .beta) ?? 1,
      gamma: container.decodeIfPresent(Double.self, forKey: .gamma) ?? 0.1)
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
