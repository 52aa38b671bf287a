/// One configuration's score on the sample's evaluation part (and, for the best few, on the full
/// sets).
public struct TuningResult: Codable, Equatable, Sendable {
  /// Correct, total and abstained images of one set.
  public struct Counts: Codable, Equatable, Sendable {
    /// Images.
    public var total: Int
    /// Correctly classified images.
    public var correct: Int
    /// Rows a postprocessor zeroed (counted as wrong).
    public var abstentions: Int

    /// correct / total (0 for no images).
    public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }
    /// The accuracy's 95% Wilson score interval.
    public var interval: ConfidenceInterval {
      ConfidenceInterval.wilson(successes: correct, trials: total)
    }
  }

  /// One adversarial set's counts on the evaluation images.
  public struct SetCounts: Codable, Equatable, Sendable {
    /// The set's name (`pgd`, `auto`).
    public var name: String
    /// Who made the set, with the budget (`adaptive auto (…)`), or its source.
    public var attacker: String
    /// Whether the set was made against this configuration itself (`against: "pipeline"`).
    public var isAdaptive: Bool
    /// The counts.
    public var counts: Counts
  }

  /// What a model-stealing student trained on a configuration's answers learnt (the stealing
  /// objective, see `StealingSetup`).
  public struct Stealing: Codable, Equatable, Sendable {
    /// Queries sent to the configuration.
    public var queries: Int
    /// Queries it answered (did not abstain on): the student's training set.
    public var answered: Int
    /// Labelled clean images the student classifies correctly.
    public var studentAccuracy: Counts
    /// Clean images on which the student gives the configuration's class, out of those the
    /// configuration answered.
    public var agreement: Counts

    /// The counts of what the objective minimises.
    /// - Parameter measure: The objective's measure.
    /// - Returns: `studentAccuracy` or `agreement`.
    public func counts(of measure: StealingSetup.Measure) -> Counts {
      measure == .agreement ? agreement : studentAccuracy
    }
  }

  /// The configuration's place in the grid's fixed order (refined points follow the grid's);
  /// ties of the objective go to the lower index.
  public var index: Int
  /// `grid` or `refine`.
  public var phase: String
  /// The configuration's key (`TuningCandidate.key`), after the classifier's model file name
  /// (`lenet5-fashion-adv.safetensors | …`) when the search compares classifiers.
  public var key: String
  /// The classifier's model file name when the search compares classifiers; nil otherwise.
  public var classifier: String? = nil
  /// Every tuned parameter's name and value.
  public var parameters: [String: Double]
  /// The clean evaluation images.
  public var clean: Counts
  /// The adversarial counts the objective ranks by: the first adversarial set's, or for the
  /// worst-case objective the worst case over every set scored (`worstCase`, else the set with
  /// the lowest accuracy).
  public var adversarial: Counts
  /// Every adversarial set scored, in file order: the sets made once before the search, then,
  /// for configurations re-ranked by the worst-case objective, those made against the
  /// configuration itself.
  public var adversarialSets: [SetCounts]
  /// The worst case over the paired sets scored (an image counts only if it survives every
  /// set), when there are several.
  public var worstCase: Counts?
  /// The objective's 95% seeded bootstrap interval on the evaluation images.
  public var interval: ConfidenceInterval
  /// Whether the sets made against the configuration itself were run (the worst-case
  /// objective's re-ranking); without them the worst case covers only the sets made once.
  public var attackedAdaptively: Bool
  /// Seconds per image of every stage (preprocessors, the classifier times its passes,
  /// postprocessors).
  public var stages: [StageTiming]
  /// The score on the full sets, for the configurations re-scored there.
  public var full: PipelineScore?
  /// With the stealing objective, what the student learnt, measured on the sample's clean
  /// evaluation images; nil otherwise.
  public var stealing: Stealing? = nil
  /// With the stealing objective, the same student measured on the full clean set, for the
  /// configurations re-scored there.
  public var fullStealing: Stealing? = nil

  /// Seconds per image of the whole pipeline.
  public var secondsPerImage: Double { stages.reduce(0) { $0 + $1.secondsPerImage } }

  /// The harmonic mean of the clean and adversarial accuracies.
  public var harmonicMean: Double {
    PipelineScore.harmonicMean(clean.accuracy, adversarial.accuracy)
  }

  /// The objective's value on the evaluation images.
  /// - Parameter objective: The objective.
  /// - Returns: Its value.
  public func value(of objective: TuningObjective) -> Double {
    objective.value(
      clean: (clean.correct, clean.total), adversarial: (adversarial.correct, adversarial.total),
      stolen: Self.stolen(stealing, objective: objective))
  }

  /// The stealing objective's count and total from a student's figures (nil for the other
  /// objectives or without a student).
  static func stolen(_ stealing: Stealing?, objective: TuningObjective) -> (count: Int, total: Int)?
  {
    guard case .stealing(let measure) = objective, let stealing else { return nil }
    let counts = stealing.counts(of: measure)
    return (counts.correct, counts.total)
  }
}
