import BulwarkData

/// The fast gradient sign method (Goodfellow, Shlens and Szegedy 2015): one step of size ε
/// along the sign of the loss gradient, `x + ε sign(∇ₓ L(x, y))` untargeted and
/// `x - ε sign(∇ₓ L(x, t))` toward a target `t`, clipped to [0, 1]. A pixel whose gradient is
/// exactly 0 does not move (`sign(0) = 0`, as `torch.sign`).
public struct FGSM: Attack {
  /// The L-infinity size of the step.
  public var epsilon: Float

  /// Creates the attack.
  /// - Parameter epsilon: The step size, the largest change of any pixel.
  public init(epsilon: Float) {
    self.epsilon = epsilon
  }

  /// Adversarial versions of a batch.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: Target classes for a targeted attack; nil for untargeted.
  /// - Returns: The perturbed images with the true labels.
  /// - Throws: ``ModelError`` for a negative or non-finite ε, images that do not fit the
  ///   classifier, or bad targets.
  public func perturb(
    _ batch: ImageBatch, classifier: any Classifier, targets: [Int]?
  ) throws -> ImageBatch {
    try checkEpsilon(epsilon, "epsilon")
    try classifier.checkShape(batch)
    let gradient = try inputGradient(
      batch.pixels, batch: batch, classifier: classifier, targets: targets)
    let step = targets == nil ? epsilon : -epsilon
    var pixels = batch.pixels
    for index in pixels.indices {
      let g = gradient[index]
      let direction: Float = g > 0 ? 1 : (g < 0 ? -1 : 0)
      pixels[index] = min(max(pixels[index] + step * direction, 0), 1)
    }
    return ImageBatch(
      shape: batch.shape, pixels: pixels, labels: batch.labels, classNames: batch.classNames)
  }
}
