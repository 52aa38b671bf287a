import BulwarkData

extension Classifier {
  /// Whether an attack succeeded on each image: untargeted, the classifier gets it wrong or
  /// abstains (an all-zero probability row, which a scorer counts as wrong) when
  /// `abstentionIsAttackSuccess`; targeted, it classifies it as its target.
  /// - Parameters:
  ///   - batch: The images, with their true labels.
  ///   - targets: One target class per image for a targeted attack; nil for untargeted.
  /// - Returns: One flag per image.
  /// - Throws: As `probabilities(_:)`.
  public func attackSucceeded(on batch: ImageBatch, targets: [Int]?) throws -> [Bool] {
    let probabilities = try self.probabilities(batch)
    let classes = classCount
    return (0..<batch.count).map { image in
      attackSucceeded(
        predicted: probabilities[image * classes..<(image + 1) * classes].scoredClass,
        label: batch.labels[image], target: targets?[image])
    }
  }

  /// Whether an attack succeeded on an image the classifier assigns `predicted`.
  /// - Parameters:
  ///   - predicted: The class, or nil for an abstention (success only when untargeted and
  ///     `abstentionIsAttackSuccess`).
  ///   - label: The image's true class.
  ///   - target: A targeted attack's class; nil for untargeted (any other class succeeds).
  /// - Returns: Whether the attack succeeded.
  func attackSucceeded(predicted: Int?, label: Int, target: Int?) -> Bool {
    guard let predicted else { return target == nil && abstentionIsAttackSuccess }
    return target.map { predicted == $0 } ?? (predicted != label)
  }
}

extension ArraySlice<Float> {
  /// This probability row's class as the scorer decides it: the first of the largest values,
  /// or nil for an abstention (an all-zero row).
  var scoredClass: Int? {
    guard contains(where: { $0 != 0 }) else { return nil }
    var best = startIndex
    for index in indices where self[index] > self[best] { best = index }
    return best - startIndex
  }
}

extension ImageBatch {
  /// The batch with other pixel values, the same shape, labels and class names.
  func replacingPixels(_ pixels: [Float]) -> ImageBatch {
    ImageBatch(shape: shape, pixels: pixels, labels: labels, classNames: classNames)
  }

  /// This batch (images `images` of a larger one, in order) with their pixels taken from
  /// `pixels`, the larger batch's values.
  func replacingPixels(_ pixels: [Float], of images: [Int]) -> ImageBatch {
    let size = shape.valueCount
    var values: [Float] = []
    values.reserveCapacity(images.count * size)
    for image in images { values += pixels[image * size..<(image + 1) * size] }
    return replacingPixels(values)
  }
}
