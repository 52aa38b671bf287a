import BulwarkDefenses

/// Every image's outcome in one set of a tuning sample: whether the configuration classified
/// it correctly and whether it abstained (an all-zero row, counted as wrong).
struct ImageOutcomes {
  /// Whether each image was classified correctly.
  var correct: [Bool]
  /// Whether the configuration abstained on each image.
  var abstained: [Bool]

  /// The outcomes of a table of defended rows.
  init(_ table: Probabilities, labels: [Int]) {
    correct = []
    abstained = []
    for (row, label) in labels.enumerated() {
      let values = table.row(row)
      let abstains = values.allSatisfy { $0 == 0 }
      abstained.append(abstains)
      correct.append(!abstains && SetTally.argmax(values) == label)
    }
  }

  private init(correct: [Bool], abstained: [Bool]) {
    self.correct = correct
    self.abstained = abstained
  }

  /// Correct, total and abstained images.
  var counts: TuningResult.Counts {
    TuningResult.Counts(
      total: correct.count, correct: correct.count(where: { $0 }),
      abstentions: abstained.count(where: { $0 }))
  }

  /// The worst case over sets of the same images in the same order, over the images every set
  /// covers (a set attacked with a `limit` covers a prefix): an image counts as correct only
  /// where it is correct in every set, and as abstained where any set abstained.
  static func worstCase(_ sets: [ImageOutcomes]) -> ImageOutcomes {
    let count = sets.map(\.correct.count).min() ?? 0
    return ImageOutcomes(
      correct: (0..<count).map { image in sets.allSatisfy { $0.correct[image] } },
      abstained: (0..<count).map { image in sets.contains { $0.abstained[image] } })
  }
}

/// One adversarial set's outcomes under a configuration, with what the report says of the set.
struct ScoredSet {
  /// The set's name.
  var name: String
  /// Who made it, with the budget, or its source.
  var attacker: String
  /// Whether it was made against the configuration itself.
  var isAdaptive: Bool
  /// Whether image `i` attacks clean evaluation image `i`.
  var isPaired: Bool
  /// Every image's outcome.
  var outcomes: ImageOutcomes
}
