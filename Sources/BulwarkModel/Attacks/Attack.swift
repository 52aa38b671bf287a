import BulwarkData

/// An adversarial attack: perturbs images so that a classifier misclassifies them (untargeted) or
/// classifies them as chosen targets (targeted), keeping pixels in [0, 1].
public protocol Attack: Sendable {
  /// Adversarial versions of a batch.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: One target class per image for a targeted attack; nil for untargeted.
  /// - Returns: The perturbed images, with the batch's true labels and class names.
  /// - Throws: ``ModelError`` for images that do not fit the classifier, bad targets or bad
  ///   attack parameters.
  func perturb(_ batch: ImageBatch, classifier: any Classifier, targets: [Int]?) throws
    -> ImageBatch
}

/// The ball an attack's perturbation stays in.
public enum AttackNorm: String, Codable, Sendable, CaseIterable {
  /// `max |δ| <= ε`: every pixel moves at most ε.
  case infinity = "inf"
  /// `||δ||₂ <= ε` per image.
  case l2 = "2"
}

extension Attack {
  /// The gradient, with respect to the input, of the loss against the true labels
  /// (untargeted) or against the targets (targeted; the attack then steps against it). On the
  /// images a differentiable detector flags (`Classifier.evasion(_:)`), the detectors' score
  /// gradient instead, signed so that the attack's step lowers their scores.
  func inputGradient(
    _ pixels: [Float], batch: ImageBatch, classifier: any Classifier, targets: [Int]?
  ) throws -> [Float] {
    let images = ImageBatch(
      shape: batch.shape, pixels: pixels, labels: batch.labels, classNames: batch.classNames)
    var gradient = try classifier.lossGradient(images, labels: targets ?? batch.labels).input
    guard let evasion = try classifier.evasion(images) else { return gradient }
    // An untargeted attack steps up its gradient, a targeted one down.
    evasion.replace(in: &gradient, imageSize: batch.shape.valueCount, sign: targets == nil ? -1 : 1)
    return gradient
  }

  func checkEpsilon(_ value: Float, _ name: String) throws {
    guard value.isFinite, value >= 0 else {
      throw ModelError(field: name, expected: "a finite value >= 0", found: "\(value)")
    }
  }
}

extension Attack {
  /// Checks a targeted attack's targets: one per image, each a class of the classifier.
  func checkTargets(_ targets: [Int], batch: ImageBatch, classes: Int) throws {
    guard targets.count == batch.count else {
      throw ModelError(
        field: "targets", expected: "\(batch.count) targets", found: "\(targets.count)")
    }
    if let index = targets.firstIndex(where: { $0 < 0 || $0 >= classes }) {
      throw ModelError(
        field: "targets", expected: "classes in 0..<\(classes)",
        found: "\(targets[index]) at \(index)")
    }
  }
}

/// An attack that spends a query budget (the score- and decision-based ones) and reports the
/// classifier calls it made on each image.
public protocol QueryCountingAttack: Attack {
  /// Adversarial versions of a batch and the queries spent on each image.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: One target class per image for a targeted attack; nil for untargeted.
  /// - Returns: The perturbed images (true labels) and the queries per image.
  /// - Throws: As `perturb(_:classifier:targets:)`.
  func perturbCountingQueries(_ batch: ImageBatch, classifier: any Classifier, targets: [Int]?)
    throws -> (adversarial: ImageBatch, queries: [Int])
}

extension QueryCountingAttack {
  /// Adversarial versions of a batch (the queries are not reported).
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: One target class per image for a targeted attack; nil for untargeted.
  /// - Returns: The perturbed images, with the batch's true labels.
  /// - Throws: As `perturbCountingQueries(_:classifier:targets:)`.
  public func perturb(_ batch: ImageBatch, classifier: any Classifier, targets: [Int]?) throws
    -> ImageBatch
  {
    try perturbCountingQueries(batch, classifier: classifier, targets: targets).adversarial
  }
}
