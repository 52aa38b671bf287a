/// The outcome of scoring a defended pipeline on a clean set and one or more adversarial sets.
///
/// The headline adversarial score (`adversarial`, and the harmonic mean) is the only set's, or,
/// with several sets of the same images, the worst case: an image counts only if it survives
/// every set. Every accuracy carries its 95% Wilson interval (`SetScore.interval`) and the
/// headline harmonic mean a seeded bootstrap interval.
public struct PipelineScore: Codable, Equatable, Sendable {
  /// The clean set.
  public var clean: SetScore
  /// Every adversarial set, in file order, with who made it.
  public var adversarialSets: [AdversarialSetScore]
  /// The worst case over the adversarial sets, when there are several of the same images.
  public var worstCase: SetScore?
  /// The headline harmonic mean's 95% bootstrap interval.
  public var harmonicMeanInterval: ConfidenceInterval?
  /// Seconds per image of every stage, in order: preprocessors, the classifier,
  /// postprocessors, detectors (averaged over every set).
  public var stages: [StageTiming]
  /// Every detector's false positives on the clean set and detections on each adversarial
  /// set, in file order (empty without detectors).
  public var detectors: [DetectorScore]

  /// Creates a score of one adversarial set.
  /// - Parameters:
  ///   - clean: The clean set's score.
  ///   - adversarial: The adversarial set's score.
  ///   - stages: Per-stage timings.
  public init(clean: SetScore, adversarial: SetScore, stages: [StageTiming]) {
    self.init(
      clean: clean,
      adversarialSets: [
        AdversarialSetScore(
          name: AdversarialSet.defaultName, attacker: "given set", score: adversarial)
      ], worstCase: nil, harmonicMeanInterval: nil, stages: stages)
  }

  /// Creates a score.
  /// - Parameters:
  ///   - clean: The clean set's score.
  ///   - adversarialSets: Every adversarial set's score, at least one.
  ///   - worstCase: The worst case over several sets of the same images, or nil.
  ///   - harmonicMeanInterval: The headline harmonic mean's interval, or nil.
  ///   - stages: Per-stage timings.
  ///   - detectors: Every detector's flags (default none).
  public init(
    clean: SetScore, adversarialSets: [AdversarialSetScore], worstCase: SetScore?,
    harmonicMeanInterval: ConfidenceInterval?, stages: [StageTiming],
    detectors: [DetectorScore] = []
  ) {
    precondition(!adversarialSets.isEmpty, "at least one adversarial set")
    self.clean = clean
    self.adversarialSets = adversarialSets
    self.worstCase = worstCase
    self.harmonicMeanInterval = harmonicMeanInterval
    self.stages = stages
    self.detectors = detectors
  }

  /// The headline adversarial score: the worst case over several sets of the same images, else
  /// the lowest-accuracy set (the only one, for most pipelines).
  public var adversarial: SetScore {
    worstCase ?? adversarialSets.map(\.score).min { $0.accuracy < $1.accuracy }
      ?? adversarialSets[0].score
  }

  /// The harmonic mean of the defended clean and headline adversarial accuracies (0 if either
  /// is 0).
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
    case clean, adversarial, adversarialSets, worstCase, harmonicMean, harmonicMeanInterval
    case undefendedHarmonicMean, stages, detectors
  }

  /// Decodes a score written by `encode(to:)` (a score written before adversarial sets had
  /// names has one set, `adversarial`).
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for missing or mistyped values.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let sets =
      try container.decodeIfPresent([AdversarialSetScore].self, forKey: .adversarialSets)
      ?? [
        AdversarialSetScore(
          name: AdversarialSet.defaultName, attacker: "given set",
          score: container.decode(SetScore.self, forKey: .adversarial))
      ]
    try self.init(
      clean: container.decode(SetScore.self, forKey: .clean), adversarialSets: sets,
      worstCase: container.decodeIfPresent(SetScore.self, forKey: .worstCase),
      harmonicMeanInterval: container.decodeIfPresent(
        ConfidenceInterval.self, forKey: .harmonicMeanInterval),
      stages: container.decode([StageTiming].self, forKey: .stages),
      detectors: container.decodeIfPresent([DetectorScore].self, forKey: .detectors) ?? [])
  }

  /// Encodes every set, the headline, both harmonic means and the timings.
  /// - Parameter encoder: The encoder to write to.
  /// - Throws: Whatever the encoder throws.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(clean, forKey: .clean)
    try container.encode(adversarial, forKey: .adversarial)
    try container.encode(adversarialSets, forKey: .adversarialSets)
    try container.encodeIfPresent(worstCase, forKey: .worstCase)
    try container.encode(harmonicMean, forKey: .harmonicMean)
    try container.encodeIfPresent(harmonicMeanInterval, forKey: .harmonicMeanInterval)
    try container.encode(undefendedHarmonicMean, forKey: .undefendedHarmonicMean)
    try container.encode(stages, forKey: .stages)
    if !detectors.isEmpty { try container.encode(detectors, forKey: .detectors) }
  }
}

/// One adversarial set's score, with the set's name and who made it.
public struct AdversarialSetScore: Codable, Equatable, Sendable {
  /// The set's name (`pgd`; `adversarial` for a single unnamed set).
  public var name: String
  /// Who made the set, with the budget, or its source.
  public var attacker: String
  /// The score.
  public var score: SetScore

  /// Creates a set's score.
  /// - Parameters:
  ///   - name: The set's name.
  ///   - attacker: Who made it.
  ///   - score: The score.
  public init(name: String, attacker: String, score: SetScore) {
    self.name = name
    self.attacker = attacker
    self.score = score
  }
}

/// The time one stage of a pipeline takes per image.
public struct StageTiming: Codable, Equatable, Sendable {
  /// `preprocessor`, `classifier`, `postprocessor` or `detector`.
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
