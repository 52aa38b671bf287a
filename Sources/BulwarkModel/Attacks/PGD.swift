import BulwarkCore
import BulwarkData
import Foundation

/// Projected gradient descent (Madry et al. 2018): repeated steps along the loss gradient (up
/// the true label's loss, or down the target's loss when targeted), each followed by
/// projection onto the ε-ball around the clean image and clipping to [0, 1].
///
/// L-infinity steps are `α sign(∇)`; L2 steps are `α ∇ / ||∇||₂` per image. The optional random
/// start is uniform in the ball (for L2: a Gaussian direction with radius `ε u^(1/d)`), drawn
/// from a `SeededGenerator` seeded with ``seed``, image after image, so results reproduce
/// whatever the thread count. Without the random start this is the basic iterative method
/// (BIM, Kurakin et al. 2017).
///
/// With ``stopAtMisclassification`` an image stops moving at the first step where the
/// classifier gets it wrong (or abstains; targeted: classifies it as its target): minimum-
/// confidence adversarial examples, which a detector or a fitted postprocessor trained on
/// high-confidence ones may not recognise.
public struct PGD: Attack {
  /// The ball's norm.
  public var norm: AttackNorm
  /// The ball's radius.
  public var epsilon: Float
  /// The size of each step.
  public var stepSize: Float
  /// The number of steps.
  public var steps: Int
  /// Whether to start from a uniform random point in the ball.
  public var randomStart: Bool
  /// The seed of the random start.
  public var seed: UInt64
  /// Whether an image stops at its first successful step.
  public var stopAtMisclassification: Bool

  /// The ball the attack stays in.
  public var ball: PerturbationBall { PerturbationBall(norm: norm, epsilon: epsilon) }

  /// Creates the attack.
  /// - Parameters:
  ///   - norm: The ball's norm.
  ///   - epsilon: The ball's radius.
  ///   - stepSize: The size of each step.
  ///   - steps: The number of steps.
  ///   - randomStart: Whether to start at a random point of the ball.
  ///   - seed: The seed of the random start.
  ///   - stopAtMisclassification: Whether an image stops at its first successful step.
  public init(
    norm: AttackNorm = .infinity, epsilon: Float, stepSize: Float, steps: Int,
    randomStart: Bool = true, seed: UInt64 = 0, stopAtMisclassification: Bool = false
  ) {
    self.norm = norm
    self.epsilon = epsilon
    self.stepSize = stepSize
    self.steps = steps
    self.randomStart = randomStart
    self.seed = seed
    self.stopAtMisclassification = stopAtMisclassification
  }

  /// The basic iterative method: PGD without the random start.
  /// - Parameters:
  ///   - norm: The ball's norm.
  ///   - epsilon: The ball's radius.
  ///   - stepSize: The size of each step.
  ///   - steps: The number of steps.
  /// - Returns: The attack.
  public static func bim(
    norm: AttackNorm = .infinity, epsilon: Float, stepSize: Float, steps: Int
  ) -> PGD {
    PGD(norm: norm, epsilon: epsilon, stepSize: stepSize, steps: steps, randomStart: false)
  }

  /// Adversarial versions of a batch.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: Target classes for a targeted attack; nil for untargeted.
  /// - Returns: The perturbed images with the true labels.
  /// - Throws: ``ModelError`` for a bad ε, step size or step count, images that do not fit the
  ///   classifier, or bad targets.
  public func perturb(
    _ batch: ImageBatch, classifier: any Classifier, targets: [Int]?
  ) throws -> ImageBatch {
    try checkEpsilon(epsilon, "epsilon")
    try checkEpsilon(stepSize, "stepSize")
    guard steps >= 0 else {
      throw ModelError(field: "steps", expected: "a count >= 0", found: "\(steps)")
    }
    try classifier.checkShape(batch)
    let clean = batch.pixels
    let imageSize = batch.shape.valueCount
    var pixels = clean
    if randomStart { start(&pixels, imageSize: imageSize) }
    let direction: Float = targets == nil ? 1 : -1
    var active = Array(0..<batch.count)
    for _ in 0..<steps {
      if stopAtMisclassification {
        let current = batch.selecting(active).replacingPixels(pixels, of: active)
        let succeeded = try classifier.attackSucceeded(
          on: current, targets: targets.map { targets in active.map { targets[$0] } })
        active = zip(active, succeeded).filter { !$0.1 }.map(\.0)
        if active.isEmpty { break }
      }
      let everyImage = active.count == batch.count
      let part = everyImage ? batch : batch.selecting(active)
      var moved = everyImage ? pixels : part.replacingPixels(pixels, of: active).pixels
      let gradient = try inputGradient(
        moved, batch: part, classifier: classifier,
        targets: targets.map { targets in everyImage ? targets : active.map { targets[$0] } })
      let step = ball.step(along: gradient, scale: direction * stepSize, imageSize: imageSize)
      for index in moved.indices { moved[index] += step[index] }
      ball.project(&moved, around: part.pixels, imageSize: imageSize)
      if everyImage {
        pixels = moved
      } else {
        for (position, image) in active.enumerated() {
          pixels.replaceSubrange(
            image * imageSize..<(image + 1) * imageSize,
            with: moved[position * imageSize..<(position + 1) * imageSize])
        }
      }
    }
    return batch.replacingPixels(pixels)
  }

  func start(_ pixels: inout [Float], imageSize: Int) {
    var generator = SeededGenerator(seed: seed)
    switch norm {
    case .infinity:
      for index in pixels.indices {
        pixels[index] = min(
          max(pixels[index] + (2 * generator.unitFloat() - 1) * epsilon, 0), 1)
      }
    case .l2:
      var start = 0
      while start < pixels.count {
        let noise = (0..<imageSize).map { _ in generator.gaussian() }
        let length = noise.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let radius = Double(epsilon) * pow(generator.unitDouble(), 1 / Double(imageSize))
        let scale = length > 0 ? radius / length : 0
        for index in 0..<imageSize {
          let value = pixels[start + index] + Float(noise[index] * scale)
          pixels[start + index] = min(max(value, 0), 1)
        }
        start += imageSize
      }
    }
  }
}
