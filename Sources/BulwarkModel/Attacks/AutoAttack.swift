import BulwarkData

/// AutoAttack's standard sequence (Croce and Hein 2020) as Bulwark runs it: APGD-CE, then
/// APGD-T (targeted DLR over the top classes), then the Square Attack, each on the images the
/// attacks before it left classified correctly, so that an image counts as robust only if
/// every attack failed on it (the per-image worst case).
///
/// Deliberate differences from AutoAttack's "standard" version: FAB-T is left out, the Square
/// Attack's budget is `queries` (AutoAttack: 5,000), and APGD-T is skipped for classifiers of
/// fewer than 4 classes (targeted DLR needs 4). Targeted runs (`targets` given) use targeted
/// APGD-CE and the targeted Square Attack.
public struct AutoAttack: Attack {
  /// The ball every attack stays in.
  public var ball: PerturbationBall
  /// APGD iterations (per run, and per target class of APGD-T).
  public var steps: Int
  /// Target classes of APGD-T.
  public var targetClasses: Int
  /// The Square Attack's query budget per image.
  public var queries: Int
  /// The seed of every attack.
  public var seed: UInt64

  /// Creates the sequence.
  /// - Parameters:
  ///   - norm: L-infinity (default) or L2.
  ///   - epsilon: The ball's radius.
  ///   - steps: APGD iterations (default 100).
  ///   - targetClasses: APGD-T's target classes (default 9).
  ///   - queries: The Square Attack's budget (default 5,000).
  ///   - seed: The seed.
  public init(
    norm: AttackNorm = .infinity, epsilon: Float, steps: Int = 100, targetClasses: Int = 9,
    queries: Int = 5_000, seed: UInt64 = 0
  ) {
    ball = PerturbationBall(norm: norm, epsilon: epsilon)
    self.steps = steps
    self.targetClasses = targetClasses
    self.queries = queries
    self.seed = seed
  }

  /// What the sequence did.
  public struct Outcome: Sendable {
    /// The adversarial images, with the true labels: each image's point from the first attack
    /// that fooled it, else the last attack's point.
    public var adversarial: ImageBatch
    /// The attack that fooled each image (`apgd-ce`, `apgd-t`, `square`; `clean` for an image
    /// the classifier got wrong to begin with), or nil for a robust image.
    public var fooledBy: [String?]
    /// The Square Attack's queries on each image.
    public var queries: [Int]
  }

  /// The attacks of the sequence, by name, in order.
  /// - Parameters:
  ///   - classes: The classifier's class count (APGD-T needs at least 4).
  ///   - targeted: Whether the run is targeted (APGD-T is then left out).
  /// - Returns: The names and attacks.
  public func attacks(classes: Int, targeted: Bool) -> [(name: String, attack: any Attack)] {
    let norm = ball.norm
    let epsilon = ball.epsilon
    var result: [(String, any Attack)] = [
      ("apgd-ce", APGD(norm: norm, epsilon: epsilon, steps: steps, seed: seed))
    ]
    if !targeted, classes >= 4 {
      result.append(
        (
          "apgd-t",
          APGDTargeted(
            norm: norm, epsilon: epsilon, steps: steps, targetClasses: targetClasses, seed: seed)
        ))
    }
    result.append(
      ("square", SquareAttack(norm: norm, epsilon: epsilon, queries: queries, seed: seed)))
    return result
  }

  /// Runs the sequence and says which attack fooled each image.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: One target class per image, or nil.
  /// - Returns: The adversarial images, the attack that fooled each, and Square's queries.
  /// - Throws: As `perturb(_:classifier:targets:)`.
  public func run(
    _ batch: ImageBatch, classifier: any Classifier, targets: [Int]?
  ) throws -> Outcome {
    try ball.check()
    try classifier.checkShape(batch)
    let size = batch.shape.valueCount
    var result = batch
    var fooledBy = [String?](repeating: nil, count: batch.count)
    var usedQueries = [Int](repeating: 0, count: batch.count)
    let clean = try classifier.attackSucceeded(on: batch, targets: targets)
    for image in 0..<batch.count where clean[image] { fooledBy[image] = "clean" }
    var remaining = (0..<batch.count).filter { !clean[$0] }
    for (name, attack) in attacks(classes: classifier.classCount, targeted: targets != nil) {
      guard !remaining.isEmpty else { break }
      let part = batch.selecting(remaining)
      let partTargets = targets.map { targets in remaining.map { targets[$0] } }
      let adversarial: ImageBatch
      if let counting = attack as? any QueryCountingAttack {
        let outcome = try counting.perturbCountingQueries(
          part, classifier: classifier, targets: partTargets)
        adversarial = outcome.adversarial
        for (position, image) in remaining.enumerated() {
          usedQueries[image] = outcome.queries[position]
        }
      } else {
        adversarial = try attack.perturb(part, classifier: classifier, targets: partTargets)
      }
      let succeeded = try classifier.attackSucceeded(on: adversarial, targets: partTargets)
      for (position, image) in remaining.enumerated() {
        result.pixels.replaceSubrange(
          image * size..<(image + 1) * size,
          with: adversarial.pixels[position * size..<(position + 1) * size])
        if succeeded[position] { fooledBy[image] = name }
      }
      remaining = zip(remaining, succeeded).filter { !$0.1 }.map(\.0)
    }
    return Outcome(adversarial: result, fooledBy: fooledBy, queries: usedQueries)
  }
}

extension AutoAttack: QueryCountingAttack {
  /// Adversarial versions of a batch and the queries spent on each image.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: One target class per image, or nil.
  /// - Returns: The perturbed images and the queries per image.
  /// - Throws: As `run(_:classifier:targets:)`.
  public func perturbCountingQueries(
    _ batch: ImageBatch, classifier: any Classifier, targets: [Int]?
  ) throws -> (adversarial: ImageBatch, queries: [Int]) {
    let outcome = try run(batch, classifier: classifier, targets: targets)
    return (outcome.adversarial, outcome.queries)
  }
}
