import BulwarkData
import BulwarkDefenses
import BulwarkModel

extension Pipeline {
  /// A detector's scores on a batch, with the pipeline's undefended classifier, in batches so
  /// that memory stays bounded.
  /// - Parameters:
  ///   - detector: One of the pipeline's detectors (or one about to be).
  ///   - batch: Images of the classifier's input shape.
  ///   - batchSize: Images per batch (default 1,000).
  ///   - progress: Called before each batch with images done and total.
  /// - Returns: One finite score per image.
  /// - Throws: The detector's and the classifier's errors.
  public func scores(
    of detector: any Detector, on batch: ImageBatch, batchSize: Int = 1_000,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> [Double] {
    precondition(batchSize >= 1, "batch size must be positive")
    var scores: [Double] = []
    scores.reserveCapacity(batch.count)
    for first in stride(from: 0, to: batch.count, by: batchSize) {
      progress(first, batch.count)
      let part = batch.selecting(first..<min(first + batchSize, batch.count))
      scores += try detector.checkedScores(part, classify: classifier.probabilities)
    }
    return scores
  }

  /// The evasion (see `Classifier.evasion(_:)`): on every image, the sum over the
  /// differentiable detectors that flag it of `score − threshold` and of its input gradient.
  /// - Parameter batch: Images of the classifier's input shape.
  /// - Returns: The evasion, or nil when no detector is differentiable.
  /// - Throws: `DetectorError.notFitted` for a detector without a threshold; the detectors'
  ///   and the classifier's errors.
  public func evasion(_ batch: ImageBatch) throws -> DetectorEvasion? {
    var total: DetectorEvasion?
    let size = batch.shape.valueCount
    for detector in detectors {
      guard
        let gradient = try detector.scoreGradient(batch, classify: classifier.probabilities)
      else { continue }
      let excess = try detector.excess(batch, classify: classifier.probabilities)
      var sum =
        total
        ?? DetectorEvasion(
          excess: [Double](repeating: 0, count: batch.count),
          gradient: [Float](repeating: 0, count: batch.pixels.count))
      for (image, above) in excess.enumerated() where above > 0 {
        sum.excess[image] += above
        for index in image * size..<(image + 1) * size { sum.gradient[index] += gradient[index] }
      }
      total = sum
    }
    return total
  }

  /// Each detector's flags on a batch, in the order of `detectors`.
  /// - Parameter batch: Images of the classifier's input shape, as they reach the pipeline.
  /// - Returns: One flag per image for every detector.
  /// - Throws: `DetectorError.notFitted` for a detector without a threshold; the detectors'
  ///   and the classifier's errors.
  func detectorFlags(_ batch: ImageBatch) throws -> [[Bool]] {
    try detectors.map { try $0.flags(batch, classify: classifier.probabilities) }
  }

  /// Whether any detector flags each image of a batch (all false without detectors).
  /// - Parameter batch: Images of the classifier's input shape.
  /// - Returns: One flag per image.
  /// - Throws: As `detectorFlags(_:)`.
  func anyDetectorFlags(_ batch: ImageBatch) throws -> [Bool] {
    Self.union(try detectorFlags(batch), count: batch.count)
  }

  /// Per image, whether any of the flag lists flags it.
  static func union(_ flags: [[Bool]], count: Int) -> [Bool] {
    (0..<count).map { image in flags.contains { $0[image] } }
  }
}

extension Probabilities {
  /// The table with the rows of flagged images zeroed: the pipeline abstains on them.
  /// - Parameter flagged: One flag per row.
  /// - Returns: The table.
  func abstaining(on flagged: [Bool]) -> Probabilities {
    guard flagged.contains(true) else { return self }
    var result = self
    result.values = Self.zeroingRows(values, flagged: flagged, columns: columns)
    return result
  }

  /// `values`, a table of `columns` values per row, with the flagged rows zeroed (also the
  /// backward pass of `abstaining(on:)`: a zeroed row passes no gradient).
  static func zeroingRows(_ values: [Float], flagged: [Bool], columns: Int) -> [Float] {
    var result = values
    for (row, isFlagged) in flagged.enumerated() where isFlagged {
      for column in row * columns..<(row + 1) * columns { result[column] = 0 }
    }
    return result
  }
}
