internal import CBulwarkKernels

/// Perturbs probabilities with a reverse sigmoid (ART's `ReverseSigmoid`; Lee et al., 2019,
/// "Defending Against NN Model Stealing Attacks Using Deceptive Perturbations").
///
/// Per value: pc = clip(p, 1e-9, 1 - 1e-9); r = beta * (sigmoid(gamma * ln(pc / (1 - pc))) - 1/2);
/// q = clip(p - r, 0, 1) with the raw p; then each row is multiplied by 1 / its sum. Everything
/// runs in single precision, as ART's NumPy code does on float32 arrays: 1 - 1e-9 rounds to 1, so
/// a probability of exactly 1 gets the full perturbation beta / 2 (clipping in double instead
/// would differ from ART by up to 0.1 on confident rows). The logarithm and the exponential are
/// Bulwark's own vectorised float32 polynomials (`CBulwarkKernels`), within 3e-7 of ART's outputs;
/// they give the same bits on every CPU. A row whose q all clip to 0 stays all zeros (an
/// abstention) where ART would divide by zero.
///
/// Deliberate difference: a one-column table is renormalised like any other (each value becomes
/// 1, or 0 if it clipped to 0); ART reads one column as a binary classifier's P(class 1) and
/// perturbs 1 - p beside it.
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
  /// - Complexity: O(rows x columns), vectorised.
  public func process(_ probabilities: Probabilities) -> Probabilities {
    process(probabilities, portable: false)
  }

  /// `process(_:)`, with `portable` forcing the kernel's baseline variant (tests compare the two).
  func process(_ probabilities: Probabilities, portable: Bool) -> Probabilities {
    var result = probabilities
    result.values = [Float](unsafeUninitializedCapacity: probabilities.values.count) {
      output, initialized in
      probabilities.values.withUnsafeBufferPointer { input in
        bulwark_reverse_sigmoid(
          input.baseAddress, output.baseAddress, probabilities.rows, probabilities.columns,
          Float(beta), Float(gamma), portable ? 1 : 0)
      }
      initialized = probabilities.values.count
    }
    return result
  }
}
