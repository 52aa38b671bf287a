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

  /// Creates the attack.
  /// - Parameters:
  ///   - norm: The ball's norm.
  ///   - epsilon: The ball's radius.
  ///   - stepSize: The size of each step.
  ///   - steps: The number of steps.
  ///   - randomStart: Whether to start at a random point of the ball.
  ///   - seed: The seed of the random start.
  public init(
    norm: AttackNorm = .infinity, epsilon: Float, stepSize: Float, steps: Int,
    randomStart: Bool = true, seed: UInt64 = 0
  ) {
    self.norm = norm
    self.epsilon = epsilon
    self.stepSize = stepSize
    self.steps = steps
    self.randomStart = randomStart
    self.seed = seed
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
    var pixels = clean
    if randomStart { start(&pixels, imageSize: batch.shape.valueCount) }
    let direction: Float = targets == nil ? 1 : -1
    for _ in 0..<steps {
      let gradient = try inputGradient(
        pixels, batch: batch, classifier: classifier, targets: targets)
      step(&pixels, along: gradient, scale: direction * stepSize, imageSize: batch.shape.valueCount)
      project(&pixels, around: clean, imageSize: batch.shape.valueCount)
    }
    return ImageBatch(
      shape: batch.shape, pixels: pixels, labels: batch.labels, classNames: batch.classNames)
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

  func step(_ pixels: inout [Float], along gradient: [Float], scale: Float, imageSize: Int) {
    switch norm {
    case .infinity:
      for index in pixels.indices {
        let g = gradient[index]
        pixels[index] += scale * (g > 0 ? 1 : (g < 0 ? -1 : 0))
      }
    case .l2:
      var start = 0
      while start < pixels.count {
        var sum = 0.0
        for index in start..<(start + imageSize) {
          sum += Double(gradient[index] * gradient[index])
        }
        if sum > 0 {
          let factor = Float(Double(scale) / sum.squareRoot())
          for index in start..<(start + imageSize) { pixels[index] += factor * gradient[index] }
        }
        start += imageSize
      }
    }
  }

  /// Projects onto the ε-ball around `clean`, then clips to [0, 1] (which keeps it inside).
  func project(_ pixels: inout [Float], around clean: [Float], imageSize: Int) {
    switch norm {
    case .infinity:
      for index in pixels.indices {
        let delta = min(max(pixels[index] - clean[index], -epsilon), epsilon)
        pixels[index] = min(max(clean[index] + delta, 0), 1)
      }
    case .l2:
      var start = 0
      while start < pixels.count {
        var sum = 0.0
        for index in start..<(start + imageSize) {
          let delta = Double(pixels[index] - clean[index])
          sum += delta * delta
        }
        let length = sum.squareRoot()
        let factor = length > Double(epsilon) ? Float(Double(epsilon) / length) : 1
        for index in start..<(start + imageSize) {
          let delta = (pixels[index] - clean[index]) * factor
          pixels[index] = min(max(clean[index] + delta, 0), 1)
        }
        start += imageSize
      }
    }
  }
}
