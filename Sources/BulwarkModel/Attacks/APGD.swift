import BulwarkData
import Foundation

/// Auto-PGD (Croce and Hein, "Reliable evaluation of adversarial robustness with an ensemble of
/// diverse parameter-free attacks", ICML 2020): PGD with momentum and a step size that adapts
/// itself, on the cross-entropy or the DLR loss (`MarginLoss`), L-infinity or L2.
///
/// From a random point on the ball's surface, the step starts at 2ε; each iteration takes
/// `z = P(x_k + η d(∇f))` and `x_{k+1} = P(x_k + α (z − x_k) + (1 − α)(x_k − x_{k−1}))` with
/// α = 0.75 (1 on the first step), P the projection onto the ball and [0, 1], d the norm's
/// steepest direction. At the checkpoints (after 0.22 N iterations, then intervals shrinking by
/// 0.03 N down to 0.06 N) the step halves and the image restarts from its best point when at
/// most ρ = 0.75 of the steps since the last checkpoint increased the loss, or when the step was
/// not halved at the last checkpoint and the best loss has not improved since. Restarts run on
/// the images still classified correctly, each from a new random start.
///
/// An image counts as adversarial at the first point where the classifier gets it wrong (an
/// abstention, all logits equal, counts when `Classifier.abstentionIsAttackSuccess`; targeted:
/// classifies it as the target), and that first point is kept. Against a classifier with
/// differentiable detectors (`Classifier.evasion(_:)`), a point they flag ranks below every
/// point they let through and among flagged points by how far the detectors' scores are above
/// their thresholds (`Progress`); on such a point the step follows the detectors' score
/// gradient down instead of the loss up.
///
/// Deliberate differences from the reference implementation, which keeps the last
/// misclassified point: an image never fooled comes back at its highest-loss point rather than
/// clean (more useful against other defenses); the first checkpoint compares the
/// first step's loss with the starting loss (the reference reads an unwritten slot of zeros);
/// and every image draws its random start from its own seeded stream, so results do not depend
/// on the batch or the thread count.
public struct APGD: Attack {
  /// The ball the attack stays in.
  public var ball: PerturbationBall
  /// Iterations per restart (N).
  public var steps: Int
  /// Runs on the images still correct, each from a new random start.
  public var restarts: Int
  /// The loss maximised.
  public var loss: MarginLoss
  /// The seed of the random starts.
  public var seed: UInt64
  /// The share of increasing steps below which the step size halves (ρ).
  public var rho: Double

  /// Creates the attack.
  /// - Parameters:
  ///   - norm: L-infinity (default) or L2.
  ///   - epsilon: The ball's radius.
  ///   - steps: Iterations per restart (default 100).
  ///   - restarts: Restarts (default 1).
  ///   - loss: Cross-entropy (default) or DLR.
  ///   - seed: The random starts' seed.
  ///   - rho: The oscillation threshold (default 0.75).
  public init(
    norm: AttackNorm = .infinity, epsilon: Float, steps: Int = 100, restarts: Int = 1,
    loss: MarginLoss = .crossEntropy, seed: UInt64 = 0, rho: Double = 0.75
  ) {
    ball = PerturbationBall(norm: norm, epsilon: epsilon)
    self.steps = steps
    self.restarts = restarts
    self.loss = loss
    self.seed = seed
    self.rho = rho
  }

  /// Adversarial versions of a batch.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: One target class per image for a targeted attack (targeted cross-entropy or
  ///     targeted DLR); nil for untargeted.
  /// - Returns: The adversarial images (each image's first successful point, else its
  ///   highest-loss point), with the true labels.
  /// - Throws: ``ModelError`` for bad parameters, too few classes for the loss, images that do
  ///   not fit the classifier or bad targets; errors from the classifier.
  public func perturb(
    _ batch: ImageBatch, classifier: any Classifier, targets: [Int]?
  ) throws -> ImageBatch {
    try run(batch, classifier: classifier, lossTargets: targets, successTargets: targets)
  }

  /// Runs the restarts with a loss measured against `lossTargets` and success judged against
  /// `successTargets` (APGD-T maximises a targeted loss but succeeds on any misclassification).
  func run(
    _ batch: ImageBatch, classifier: any Classifier, lossTargets: [Int]?,
    successTargets: [Int]?
  ) throws -> ImageBatch {
    try check(batch, classifier: classifier, targeted: lossTargets != nil)
    try lossTargets.map { try checkTargets($0, batch: batch, classes: classifier.classCount) }
    var result = batch.pixels
    var remaining = try zip(
      0..<batch.count,
      classifier.attackSucceeded(
        on: batch, targets: successTargets)
    ).filter { !$0.1 }.map(\.0)
    var bestProgress = [Progress](repeating: .lowest, count: batch.count)
    let size = batch.shape.valueCount
    for restart in 0..<restarts where !remaining.isEmpty {
      let part = batch.selecting(remaining)
      let outcome = try singleRun(
        part, streams: remaining, seed: seed &+ UInt64(restart), classifier: classifier,
        lossTargets: lossTargets.map { targets in remaining.map { targets[$0] } },
        successTargets: successTargets.map { targets in remaining.map { targets[$0] } })
      for (position, image) in remaining.enumerated()
      where outcome.succeeded[position] || outcome.progress[position] > bestProgress[image] {
        bestProgress[image] = outcome.progress[position]
        let source = outcome.succeeded[position] ? outcome.adversarial : outcome.best
        result.replaceSubrange(
          image * size..<(image + 1) * size,
          with: source[position * size..<(position + 1) * size])
      }
      remaining = zip(remaining, outcome.succeeded).filter { !$0.1 }.map(\.0)
    }
    return batch.replacingPixels(result)
  }

  /// Checks the parameters and the batch.
  func check(_ batch: ImageBatch, classifier: any Classifier, targeted: Bool) throws {
    try ball.check()
    guard steps >= 1, restarts >= 1 else {
      throw ModelError(
        field: "steps", expected: "at least 1 step and 1 restart",
        found: "\(steps) steps, \(restarts) restarts")
    }
    let needed = loss.minimumClasses(targeted: targeted)
    guard classifier.classCount >= needed else {
      throw ModelError(
        field: "loss", expected: "\(loss.rawValue) needs at least \(needed) classes",
        found: "\(classifier.classCount)")
    }
    try classifier.checkShape(batch)
  }

  /// One run's results, per image of the part.
  struct Outcome {
    /// The first successful point of every image (its last point where none succeeded).
    var adversarial: [Float]
    /// The furthest point of every image (the highest loss among those let through).
    var best: [Float]
    /// How far that point got.
    var progress: [Progress]
    /// Whether the image was fooled.
    var succeeded: [Bool]
  }

  /// The progress, the gradient to step up and success at a point.
  struct Evaluation {
    var progress: [Progress]
    var gradient: [Float]
    var succeeded: [Bool]
  }

  /// How far an attack has got on an image: points that differentiable detectors flag rank
  /// below those they let through, lower `excess` first; then higher loss ranks higher.
  struct Progress: Comparable {
    /// The detectors' `DetectorEvasion.excess` (0 for a point let through).
    var excess: Double
    /// The attack's loss.
    var loss: Double

    /// Below every real point.
    static let lowest = Progress(excess: .infinity, loss: -.infinity)

    static func < (a: Progress, b: Progress) -> Bool {
      a.excess != b.excess ? a.excess > b.excess : a.loss < b.loss
    }
  }

  func evaluate(
    _ pixels: [Float], part: ImageBatch, classifier: any Classifier, lossTargets: [Int]?,
    successTargets: [Int]?
  ) throws -> Evaluation {
    let images = part.replacingPixels(pixels)
    let classes = classifier.classCount
    let (loss, labels) = (self.loss, part.labels)
    var (logits, gradient) = try classifier.logitsAndInputGradient(images) {
      image, row, output in
      var values: [Float] = []
      _ = loss.value(
        Array(row)[...], label: labels[image], target: lossTargets?[image], gradient: &values)
      for index in values.indices { output[index] = values[index] }
    }
    let evasion = try classifier.evasion(images)
    evasion?.replace(in: &gradient, imageSize: part.shape.valueCount, sign: -1)
    var progress = [Progress](repeating: .lowest, count: part.count)
    var succeeded = [Bool](repeating: false, count: part.count)
    var scratch: [Float] = []
    for image in 0..<part.count {
      let range = image * classes..<(image + 1) * classes
      progress[image] = Progress(
        excess: evasion?.excess[image] ?? 0,
        loss: loss.value(
          logits[range], label: labels[image], target: lossTargets?[image], gradient: &scratch))
      succeeded[image] = classifier.attackSucceeded(
        predicted: Self.predictedClass(logits[range]), label: labels[image],
        target: successTargets?[image])
    }
    return Evaluation(progress: progress, gradient: gradient, succeeded: succeeded)
  }

  /// The class with the largest logit (the first on ties), or nil when every logit is equal:
  /// the classifier prefers no class (a pipeline's abstention).
  static func predictedClass(_ logits: ArraySlice<Float>) -> Int? {
    guard let first = logits.first, logits.contains(where: { $0 != first }) else { return nil }
    var best = logits.startIndex
    for index in logits.indices where logits[index] > logits[best] { best = index }
    return best - logits.startIndex
  }

  /// One run of `steps` iterations on a part of the batch.
  func singleRun(
    _ part: ImageBatch, streams: [Int], seed: UInt64, classifier: any Classifier,
    lossTargets: [Int]?, successTargets: [Int]?
  ) throws -> Outcome {
    let size = part.shape.valueCount
    let count = part.count
    let clean = part.pixels
    func evaluate(_ pixels: [Float]) throws -> Evaluation {
      try self.evaluate(
        pixels, part: part, classifier: classifier, lossTargets: lossTargets,
        successTargets: successTargets)
    }
    func copy(_ image: Int, from source: [Float], to target: inout [Float]) {
      target.replaceSubrange(
        image * size..<(image + 1) * size, with: source[image * size..<(image + 1) * size])
    }

    var current = ball.surfaceStart(around: clean, imageSize: size, seed: seed, streams: streams)
    var evaluation = try evaluate(current)
    var gradient = evaluation.gradient
    var best = current
    var bestGradient = gradient
    var bestProgress = evaluation.progress
    var adversarial = current
    var succeeded = evaluation.succeeded
    var stepSize = [Float](repeating: 2 * ball.epsilon, count: count)
    var previous = current
    var history: [[Progress]] = [evaluation.progress]

    let firstInterval = max(Int(0.22 * Double(steps)), 1)
    let minimumInterval = max(Int(0.06 * Double(steps)), 1)
    let decrease = max(Int(0.03 * Double(steps)), 1)
    var interval = firstInterval
    var sinceCheck = 0
    var bestAtLastCheck = bestProgress
    var reducedAtLastCheck = [Bool](repeating: true, count: count)

    for iteration in 0..<steps {
      let momentum: Float = iteration > 0 ? 0.75 : 1
      var candidate = current
      for image in 0..<count {
        let range = image * size..<(image + 1) * size
        let step = ball.step(
          along: Array(gradient[range]), scale: stepSize[image], imageSize: size)
        for (offset, index) in range.enumerated() { candidate[index] += step[offset] }
      }
      ball.project(&candidate, around: clean, imageSize: size)
      var next = current
      for index in next.indices {
        next[index] =
          current[index] + momentum * (candidate[index] - current[index])
          + (1 - momentum) * (current[index] - previous[index])
      }
      ball.project(&next, around: clean, imageSize: size)
      previous = current
      current = next

      evaluation = try evaluate(current)
      gradient = evaluation.gradient
      history.append(evaluation.progress)
      for image in 0..<count {
        if evaluation.succeeded[image] {
          if !succeeded[image] { copy(image, from: current, to: &adversarial) }
          succeeded[image] = true
        } else if !succeeded[image] {
          copy(image, from: current, to: &adversarial)
        }
        if evaluation.progress[image] > bestProgress[image] {
          bestProgress[image] = evaluation.progress[image]
          copy(image, from: current, to: &best)
          copy(image, from: gradient, to: &bestGradient)
        }
      }

      sinceCheck += 1
      guard sinceCheck == interval else { continue }
      let last = history.count - 1
      for image in 0..<count {
        var increases = 0
        for offset in 0..<interval
        where history[last - offset][image] > history[last - offset - 1][image] {
          increases += 1
        }
        let oscillating = Double(increases) <= Double(interval) * rho
        let stalled =
          !reducedAtLastCheck[image] && bestAtLastCheck[image] >= bestProgress[image]
        reducedAtLastCheck[image] = oscillating || stalled
        if oscillating || stalled {
          stepSize[image] /= 2
          copy(image, from: best, to: &current)
          copy(image, from: bestGradient, to: &gradient)
        }
      }
      bestAtLastCheck = bestProgress
      interval = max(interval - decrease, minimumInterval)
      sinceCheck = 0
    }
    return Outcome(
      adversarial: adversarial, best: best, progress: bestProgress, succeeded: succeeded)
  }
}
