/// How one detector does on the sets a pipeline is scored on: how many clean images it flags
/// (its false positives) and how many of each adversarial set (its detections), each with a
/// 95% Wilson interval.
public struct DetectorScore: Codable, Equatable, Sendable {
  /// The detector's type name (`strip`).
  public var name: String
  /// Its threshold.
  public var threshold: Double
  /// The false-positive rate its threshold was fitted for.
  public var targetFalsePositiveRate: Double
  /// The clean set's images it flags: its false positives.
  public var clean: FlaggedShare
  /// Every adversarial set's images it flags, in file order.
  public var adversarialSets: [FlaggedShare]

  /// Creates a detector's score.
  /// - Parameters:
  ///   - name: The detector's type name.
  ///   - threshold: Its threshold.
  ///   - targetFalsePositiveRate: The rate its threshold was fitted for.
  ///   - clean: What it flags of the clean set.
  ///   - adversarialSets: What it flags of each adversarial set.
  public init(
    name: String, threshold: Double, targetFalsePositiveRate: Double, clean: FlaggedShare,
    adversarialSets: [FlaggedShare]
  ) {
    self.name = name
    self.threshold = threshold
    self.targetFalsePositiveRate = targetFalsePositiveRate
    self.clean = clean
    self.adversarialSets = adversarialSets
  }
}

/// The images of one set a detector flags: of all of them, and of those the undefended
/// classifier gets wrong (on an adversarial set, the attack's successes: the detection rate
/// the literature usually reports).
public struct FlaggedShare: Codable, Equatable, Sendable {
  /// The set's name (`clean`, or the adversarial set's).
  public var set: String
  /// Images flagged.
  public var flagged: Int
  /// Images in the set.
  public var total: Int
  /// Images the undefended classifier gets wrong that are flagged.
  public var flaggedMisclassified: Int
  /// Images the undefended classifier gets wrong.
  public var misclassified: Int

  /// Counts the flags of one set.
  /// - Parameters:
  ///   - set: The set's name.
  ///   - flags: Whether the detector flags each image.
  ///   - undefendedCorrect: Whether the undefended classifier gets each image right.
  public init(set: String, flags: [Bool], undefendedCorrect: [Bool]) {
    self.set = set
    total = flags.count
    flagged = flags.count(where: { $0 })
    misclassified = undefendedCorrect.count(where: { !$0 })
    flaggedMisclassified = zip(flags, undefendedCorrect).count(where: { $0 && !$1 })
  }

  /// flagged / total (0 for an empty set).
  public var rate: Double { total == 0 ? 0 : Double(flagged) / Double(total) }
  /// The rate's 95% Wilson interval.
  public var interval: ConfidenceInterval {
    ConfidenceInterval.wilson(successes: flagged, trials: total)
  }
  /// flaggedMisclassified / misclassified (0 when the classifier gets every image right).
  public var misclassifiedRate: Double {
    misclassified == 0 ? 0 : Double(flaggedMisclassified) / Double(misclassified)
  }
  /// That rate's 95% Wilson interval.
  public var misclassifiedInterval: ConfidenceInterval {
    ConfidenceInterval.wilson(successes: flaggedMisclassified, trials: misclassified)
  }

  enum CodingKeys: String, CodingKey {
    case set, flagged, total, rate, interval, flaggedMisclassified, misclassified
    case misclassifiedRate, misclassifiedInterval
  }

  /// Decodes a share written by `encode(to:)` (the rates are recomputed).
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for missing or mistyped values.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    set = try container.decode(String.self, forKey: .set)
    flagged = try container.decode(Int.self, forKey: .flagged)
    total = try container.decode(Int.self, forKey: .total)
    flaggedMisclassified = try container.decode(Int.self, forKey: .flaggedMisclassified)
    misclassified = try container.decode(Int.self, forKey: .misclassified)
  }

  /// Encodes the counts, the rates and their intervals.
  /// - Parameter encoder: The encoder to write to.
  /// - Throws: Whatever the encoder throws.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(set, forKey: .set)
    try container.encode(flagged, forKey: .flagged)
    try container.encode(total, forKey: .total)
    try container.encode(rate, forKey: .rate)
    try container.encode(interval, forKey: .interval)
    try container.encode(flaggedMisclassified, forKey: .flaggedMisclassified)
    try container.encode(misclassified, forKey: .misclassified)
    try container.encode(misclassifiedRate, forKey: .misclassifiedRate)
    try container.encode(misclassifiedInterval, forKey: .misclassifiedInterval)
  }
}
