/// What an attack needs to evade a classifier's differentiable detectors (see
/// `Classifier.evasion(_:)`): per image, how far the scores of those that flag it are above
/// their thresholds, and the input gradient of that sum.
public struct DetectorEvasion: Sendable, Equatable {
  /// Per image, the sum over the differentiable detectors that flag it of `score − threshold`:
  /// above 0 for a flagged image, 0 for one none of them flags.
  public var excess: [Double]
  /// Per image, the input gradient of its `excess` (zero for images none flags), NHWC.
  public var gradient: [Float]

  /// Creates an evasion from its parts.
  /// - Parameters:
  ///   - excess: One value per image, 0 or above.
  ///   - gradient: One value per pixel value of the batch, NHWC.
  public init(excess: [Double], gradient: [Float]) {
    self.excess = excess
    self.gradient = gradient
  }

  /// Whether a differentiable detector flags an image.
  /// - Parameter image: The image's index in the batch.
  /// - Returns: True when its excess is above 0.
  public func isFlagged(_ image: Int) -> Bool { excess[image] > 0 }

  /// Puts `sign` times the evasion gradient in place of an attack's gradient on the flagged
  /// images, leaving the others'.
  /// - Parameters:
  ///   - gradient: The attack's gradient, one value per pixel value of the batch.
  ///   - imageSize: Values per image.
  ///   - sign: -1 for an attack that steps up its gradient, 1 for one that steps down.
  func replace(in gradient: inout [Float], imageSize: Int, sign: Float) {
    for image in excess.indices where isFlagged(image) {
      for index in image * imageSize..<(image + 1) * imageSize {
        gradient[index] = sign * self.gradient[index]
      }
    }
  }
}
