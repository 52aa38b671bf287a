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
      let row = probabilities[image * classes..<(image + 1) * classes]
      guard row.contains(where: { $0 != 0 }) else {
        return targets == nil && abstentionIsAttackSuccess
      }
      var best = row.startIndex
      for index in row.indices where row[index] > row[best] { best = index }
      let predicted = best - row.startIndex
      return targets.map { predicted == $0[image] } ?? (predicted != batch.labels[image])
    }
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
