/// How a defended pipeline and its undefended classifier do on one labelled set.
public struct SetScore: Codable, Equatable, Sendable {
  /// The number of images.
  public var total: Int
  /// Images the defended pipeline classifies correctly.
  public var correct: Int
  /// Rows a postprocessor zeroed (counted as wrong).
  public var abstentions: Int
  /// Images the classifier alone classifies correctly.
  public var undefendedCorrect: Int
  /// The defense against the undefended classifier (MindSpore Armour's metrics).
  public var evaluation: DefenseEvaluation

  /// Creates a score.
  /// - Parameters:
  ///   - total: Images.
  ///   - correct: Defended correct.
  ///   - abstentions: Abstained rows.
  ///   - undefendedCorrect: Undefended correct.
  ///   - evaluation: The DefenseEvaluate metrics.
  public init(
    total: Int, correct: Int, abstentions: Int, undefendedCorrect: Int,
    evaluation: DefenseEvaluation
  ) {
    self.total = total
    self.correct = correct
    self.abstentions = abstentions
    self.undefendedCorrect = undefendedCorrect
    self.evaluation = evaluation
  }

  /// correct / total (0 for an empty set).
  public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }
  /// The accuracy's 95% Wilson score interval.
  public var interval: ConfidenceInterval {
    ConfidenceInterval.wilson(successes: correct, trials: total)
  }
  /// undefendedCorrect / total (0 for an empty set).
  public var undefendedAccuracy: Double {
    total == 0 ? 0 : Double(undefendedCorrect) / Double(total)
  }

  enum CodingKeys: String, CodingKey {
    case total, correct, abstentions, undefendedCorrect, evaluation, accuracy, undefendedAccuracy
    case interval
  }

  /// Decodes a score written by `encode(to:)` (the accuracies are recomputed).
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for missing or mistyped values.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try self.init(
      total: container.decode(Int.self, forKey: .total),
      correct: container.decode(Int.self, forKey: .correct),
      abstentions: container.decode(Int.self, forKey: .abstentions),
      undefendedCorrect: container.decode(Int.self, forKey: .undefendedCorrect),
      evaluation: container.decode(DefenseEvaluation.self, forKey: .evaluation))
  }

  /// Encodes the counts, the accuracies and the metrics.
  /// - Parameter encoder: The encoder to write to.
  /// - Throws: Whatever the encoder throws.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(total, forKey: .total)
    try container.encode(correct, forKey: .correct)
    try container.encode(accuracy, forKey: .accuracy)
    try container.encode(interval, forKey: .interval)
    try container.encode(abstentions, forKey: .abstentions)
    try container.encode(undefendedCorrect, forKey: .undefendedCorrect)
    try container.encode(undefendedAccuracy, forKey: .undefendedAccuracy)
    try container.encode(evaluation, forKey: .evaluation)
  }
}

/// Counts for one set, accumulated batch by batch, with every image's outcome (for the worst
/// case over sets and the bootstrap).
struct SetTally {
  var total = 0
  var correct = 0
  var abstentions = 0
  var undefendedCorrect = 0
  var rectified = 0
  var sacrificed = 0
  var bothCorrect = 0
  var confidenceChange = 0.0
  var divergence = 0.0
  /// Whether the defended pipeline got each image right.
  var correctImages: [Bool] = []
  /// Whether the undefended classifier got each image right.
  var undefendedCorrectImages: [Bool] = []
  /// Whether the pipeline abstained on each image.
  var abstainedImages: [Bool] = []

  /// The worst case over paired sets (the same images, in the same order), over the images
  /// every set covers (a set attacked with a `limit` covers a prefix): an image counts as
  /// correct only where it is correct in every set, and as abstained where any set abstained.
  /// The confidence metrics (CCV, COS) need one set's rows and are left out.
  static func worstCase(_ tallies: [SetTally]) -> SetTally {
    var result = SetTally()
    for image in 0..<(tallies.map(\.total).min() ?? 0) {
      let defended = tallies.allSatisfy { $0.correctImages[image] }
      let undefended = tallies.allSatisfy { $0.undefendedCorrectImages[image] }
      let abstained = tallies.contains { $0.abstainedImages[image] }
      result.record(defended: defended, undefended: undefended, abstained: abstained)
    }
    return result
  }

  /// Records one image's outcome.
  mutating func record(defended: Bool, undefended: Bool, abstained: Bool) {
    total += 1
    if abstained { abstentions += 1 }
    if defended { correct += 1 }
    if undefended { undefendedCorrect += 1 }
    if defended && !undefended { rectified += 1 }
    if !defended && undefended { sacrificed += 1 }
    correctImages.append(defended)
    undefendedCorrectImages.append(undefended)
    abstainedImages.append(abstained)
  }

  /// Adds one batch: defended rows (after the postprocessors) and undefended rows.
  mutating func add(defended: [Float], undefended: [Float], classes: Int, labels: [Int]) {
    for (index, label) in labels.enumerated() {
      let d = defended[index * classes..<(index + 1) * classes]
      let r = undefended[index * classes..<(index + 1) * classes]
      let abstained = d.allSatisfy { $0 == 0 }
      let defendedRight = !abstained && Self.argmax(d) == label
      let undefendedRight = Self.argmax(r) == label
      record(defended: defendedRight, undefended: undefendedRight, abstained: abstained)
      if defendedRight && undefendedRight {
        bothCorrect += 1
        confidenceChange += abs(Double(d.max() ?? 0) - Double(r.max() ?? 0))
        divergence += DefenseEvaluation.jensenShannon(d, r)
      }
    }
  }

  static func argmax(_ row: ArraySlice<Float>) -> Int {
    var best = row.startIndex
    for index in row.indices where row[index] > row[best] { best = index }
    return best - row.startIndex
  }

  var score: SetScore {
    let n = Double(max(total, 1))
    let evaluation = DefenseEvaluation(
      cav: Double(correct - undefendedCorrect) / n, crr: Double(rectified) / n,
      csr: Double(sacrificed) / n,
      ccv: bothCorrect == 0 ? nil : confidenceChange / Double(bothCorrect),
      cos: bothCorrect == 0 ? nil : divergence / Double(bothCorrect))
    return SetScore(
      total: total, correct: correct, abstentions: abstentions,
      undefendedCorrect: undefendedCorrect, evaluation: evaluation)
  }
}
