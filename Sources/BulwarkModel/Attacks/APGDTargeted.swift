import BulwarkData

/// APGD-T (Croce and Hein 2020): targeted APGD on the targeted DLR loss, once for each of the
/// top `targetClasses` classes other than the first, on the images still classified correctly.
///
/// The target of run `k` (from 1) is, per image, the class with the `k + 1`-th largest logit on
/// the clean image (the runner-up first). An image counts as adversarial as soon as the
/// classifier gets it wrong, whichever class it then predicts (as AutoAttack's APGD-T). It is
/// an untargeted attack built from targeted runs; `perturb` ignores `targets`.
public struct APGDTargeted: Attack {
  /// The targeted APGD run for each target class (its `loss` is DLR unless set otherwise).
  public var base: APGD
  /// How many of the top classes to target (AutoAttack: 9).
  public var targetClasses: Int

  /// Creates the attack.
  /// - Parameters:
  ///   - norm: L-infinity (default) or L2.
  ///   - epsilon: The ball's radius.
  ///   - steps: Iterations per target class (default 100).
  ///   - targetClasses: Classes to target (default 9; at most the classes less one).
  ///   - seed: The random starts' seed.
  public init(
    norm: AttackNorm = .infinity, epsilon: Float, steps: Int = 100, targetClasses: Int = 9,
    seed: UInt64 = 0
  ) {
    base = APGD(norm: norm, epsilon: epsilon, steps: steps, loss: .dlr, seed: seed)
    self.targetClasses = targetClasses
  }

  /// Adversarial versions of a batch.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: Ignored: the targets are each image's top classes.
  /// - Returns: The adversarial images (each image's first successful point, else its
  ///   highest-loss point of the last run), with the true labels.
  /// - Throws: ``ModelError`` for bad parameters, too few classes, or images that do not fit;
  ///   errors from the classifier.
  public func perturb(
    _ batch: ImageBatch, classifier: any Classifier, targets: [Int]?
  ) throws -> ImageBatch {
    try base.check(batch, classifier: classifier, targeted: true)
    guard targetClasses >= 1 else {
      throw ModelError(field: "targetClasses", expected: "at least 1", found: "\(targetClasses)")
    }
    let classes = classifier.classCount
    let cleanLogits = try classifier.logits(batch)
    let ranked = (0..<batch.count).map { image in
      let row = cleanLogits[image * classes..<(image + 1) * classes]
      return row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }
        .map { $0 - row.startIndex }
    }
    var result = batch
    var remaining = try zip(0..<batch.count, classifier.attackSucceeded(on: batch, targets: nil))
      .filter { !$0.1 }.map(\.0)
    let size = batch.shape.valueCount
    for run in 1...min(targetClasses, classes - 1) where !remaining.isEmpty {
      var attack = base
      attack.seed = base.seed &+ UInt64(run)
      let part = batch.selecting(remaining)
      let adversarial = try attack.run(
        part, classifier: classifier, lossTargets: remaining.map { ranked[$0][run] },
        successTargets: nil)
      let succeeded = try classifier.attackSucceeded(on: adversarial, targets: nil)
      for (position, image) in remaining.enumerated() {
        result.pixels.replaceSubrange(
          image * size..<(image + 1) * size,
          with: adversarial.pixels[position * size..<(position + 1) * size])
      }
      remaining = zip(remaining, succeeded).filter { !$0.1 }.map(\.0)
    }
    return result
  }
}
