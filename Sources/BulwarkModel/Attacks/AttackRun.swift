import BulwarkCore
import BulwarkData

/// An attack run over a whole set, in slices of a fixed number of images so that progress can be
/// reported (attacks treat images independently, and per-image random draws depend on the
/// image's place in its slice, so a run gives the same images for the same slice size), with
/// MindSpore Armour's attack metrics.
public struct AttackRun: Sendable {
  /// The adversarial images, with the true labels.
  public var adversarial: ImageBatch
  /// The share of clean images the classifier gets right (abstentions count as wrong).
  public var cleanAccuracy: Double
  /// The share of adversarial images it still gets right.
  public var adversarialAccuracy: Double
  /// MindSpore Armour's `AttackEvaluate` metrics.
  public var metrics: AttackEvaluation
  /// Seconds the attack took.
  public var seconds: Double
  /// The queries spent on each image, for attacks with a query budget (nil for the others).
  public var queries: [Int]?

  /// Images per slice.
  public static let sliceSize = 1_000

  /// Runs an attack on a set: the adversarial set, both accuracies, the metrics and the time.
  /// - Parameters:
  ///   - attack: The attack.
  ///   - clean: The clean images and their true labels.
  ///   - classifier: The classifier (or defended pipeline) under attack.
  ///   - targets: One target class per image for a targeted attack; nil for untargeted.
  ///   - progress: Called before each slice with images done and the total.
  /// - Throws: `ModelError` for bad parameters, images or targets; errors from the classifier.
  public init(
    _ attack: any Attack, on clean: ImageBatch, classifier: any Classifier, targets: [Int]? = nil,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws {
    let clock = ContinuousClock()
    let start = clock.now
    let (adversarial, queries) = try Self.perturbCountingQueries(
      clean, with: attack, classifier: classifier, targets: targets, progress: progress)
    try self.init(
      adversarial: adversarial, clean: clean, classifier: classifier, targets: targets,
      seconds: (clock.now - start).inSeconds, queries: queries)
  }

  /// The figures of an adversarial set made already (by the shards of a job, say): both
  /// accuracies and the metrics.
  /// - Parameters:
  ///   - adversarial: The adversarial images, with the true labels.
  ///   - clean: The clean images they were made from.
  ///   - classifier: The classifier (or defended pipeline) attacked.
  ///   - targets: One target class per image for a targeted attack; nil for untargeted.
  ///   - seconds: Seconds making them took.
  ///   - queries: The queries each image cost, for attacks with a query budget.
  /// - Throws: Errors from the classifier.
  public init(
    adversarial: ImageBatch, clean: ImageBatch, classifier: any Classifier, targets: [Int]?,
    seconds: Double, queries: [Int]?
  ) throws {
    self.adversarial = adversarial
    self.seconds = seconds
    self.queries = queries
    let count = Double(max(clean.count, 1))
    let probabilities = try classifier.probabilities(adversarial)
    cleanAccuracy =
      Double(
        Self.correct(try classifier.probabilities(clean), clean.labels, classifier.classCount))
      / count
    adversarialAccuracy =
      Double(Self.correct(probabilities, adversarial.labels, classifier.classCount)) / count
    metrics = AttackEvaluation(
      clean: clean, adversarial: adversarial, probabilities: probabilities, targets: targets)
  }

  /// The images classified correctly, as the scorer counts them: an abstention (an all-zero
  /// row) is wrong, and a tie goes to the first class.
  static func correct(_ probabilities: [Float], _ labels: [Int], _ classes: Int) -> Int {
    labels.indices.count { image in
      probabilities[image * classes..<(image + 1) * classes].scoredClass == labels[image]
    }
  }

  /// The adversarial images of a set, attacked slice by slice.
  /// - Parameters:
  ///   - clean: The clean images and their true labels.
  ///   - attack: The attack.
  ///   - classifier: The classifier under attack.
  ///   - targets: One target per image, or nil.
  ///   - progress: Called before each slice with images done and the total.
  /// - Returns: The adversarial images, with the true labels.
  /// - Throws: As the attack.
  public static func perturb(
    _ clean: ImageBatch, with attack: any Attack, classifier: any Classifier,
    targets: [Int]? = nil, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> ImageBatch {
    try perturbCountingQueries(
      clean, with: attack, classifier: classifier, targets: targets, progress: progress
    ).adversarial
  }

  /// The adversarial images of a set, attacked slice by slice, and the queries each image cost
  /// an attack with a query budget.
  static func perturbCountingQueries(
    _ clean: ImageBatch, with attack: any Attack, classifier: any Classifier,
    targets: [Int]?, progress: (Int, Int) -> Void
  ) throws -> (adversarial: ImageBatch, queries: [Int]?) {
    var pixels: [Float] = []
    pixels.reserveCapacity(clean.pixels.count)
    let counting = attack as? any QueryCountingAttack
    var queries: [Int] = []
    for first in stride(from: 0, to: clean.count, by: sliceSize) {
      progress(first, clean.count)
      let range = first..<min(first + sliceSize, clean.count)
      let part = clean.selecting(range)
      let partTargets = targets.map { Array($0[range]) }
      if let counting {
        let outcome = try counting.perturbCountingQueries(
          part, classifier: classifier, targets: partTargets)
        pixels += outcome.adversarial.pixels
        queries += outcome.queries
      } else {
        pixels += try attack.perturb(part, classifier: classifier, targets: partTargets).pixels
      }
    }
    return (clean.replacingPixels(pixels), counting == nil ? nil : queries)
  }
}
