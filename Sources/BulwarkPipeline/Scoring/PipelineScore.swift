/// The outcome of scoring a defended pipeline on a clean and an adversarial set.
public struct PipelineScore: Codable, Equatable, Sendable {
  /// The clean set.
  public var clean: SetScore
  /// The adversarial set.
  public var adversarial: SetScore
  /// Seconds per image of every stage, in order: preprocessors, the classifier,
  /// postprocessors (averaged over both sets).
  public var stages: [StageTiming]

  /// Creates a score.
  /// - Parameters:
  ///   - clean: The clean set's score.
  ///   - adversarial: The adversarial set's score.
  ///   - stages: Per-stage timings.
  public init(clean: SetScore, adversarial: SetScore, stages: [StageTiming]) {
    self.clean = clean
    self.adversarial = adversarial
    self.stages = stages
  }

  /// The harmonic mean of the defended clean and adversarial accuracies (0 if either is 0).
  public var harmonicMean: Double {
    Self.harmonicMean(clean.accuracy, adversarial.accuracy)
  }

  /// The same for the undefended classifier.
  public var undefendedHarmonicMean: Double {
    Self.harmonicMean(clean.undefendedAccuracy, adversarial.undefendedAccuracy)
  }

  /// 2ab / (a + b), or 0 when either is 0.
  /// - Parameters:
  ///   - a: One accuracy.
  ///   - b: The other.
  /// - Returns: Their harmonic mean.
  public static func harmonicMean(_ a: Double, _ b: Double) -> Double {
    a > 0 && b > 0 ? 2 * a * b / (a + b) : 0
  }

  enum CodingKeys: String, CodingKey {
    case clean, adversarial, harmonicMean, undefendedHarmonicMean, stages
  }

  /// Decodes a score written by `encode(to:)`.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for missing or mistyped values.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try self.init(
      clean: container.decode(SetScore.self, forKey: .clean),
      adversarial: container.decode(SetScore.self, forKey: .adversarial),
      stages: container.decode([StageTiming].self, forKey: .stages))
  }

  /// Encodes both sets, both harmonic means and the timings.
  /// - Parameter encoder: The encoder to write to.
  /// - Throws: Whatever the encoder throws.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(clean, forKey: .clean)
    try container.encode(adversarial, forKey: .adversarial)
    try container.encode(harmonicMean, forKey: .harmonicMean)
    try container.encode(undefendedHarmonicMean, forKey: .undefendedHarmonicMean)
    try container.encode(stages, forKey: .stages)
  }
}

/// The time one stage of a pipeline takes per image.
public struct StageTiming: Codable, Equatable, Sendable {
  /// `preprocessor`, `classifier` or `postprocessor`.
  public var kind: String
  /// The stage's type name (`spatial-smoothing`), or the model file's name for the classifier.
  public var name: String
  /// Mean seconds per image.
  public var secondsPerImage: Double

  /// Creates a timing.
  /// - Parameters:
  ///   - kind: The stage's kind.
  ///   - name: The stage's name.
  ///   - secondsPerImage: Mean seconds per image.
  public init(kind: String, name: String, secondsPerImage: Double) {
    self.kind = kind
    self.name = name
    self.secondsPerImage = secondsPerImage
  }
}
