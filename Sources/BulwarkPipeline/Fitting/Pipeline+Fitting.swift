import BulwarkData
import BulwarkDefenses

extension Pipeline {
  /// The pipeline's fitted postprocessor (see `FittedPostprocessor`) and its index, or nil.
  public var fittedPostprocessor: (index: Int, stage: any FittedPostprocessor)? {
    for (index, stage) in postprocessors.enumerated() {
      if let fitted = stage as? any FittedPostprocessor { return (index, fitted) }
    }
    return nil
  }

  /// The passes the fitted postprocessor reads for every image: `passesPerImage` tables, each
  /// computed by the (reseeded) preprocessors, the classifier and the postprocessors before it.
  /// - Parameters:
  ///   - batch: The images.
  ///   - batchSize: Images per batch (default 1,000), so that memory stays bounded.
  ///   - progress: Called before each batch with images done and total.
  /// - Returns: One table per pass, one row per image.
  /// - Throws: `PipelineError` without a fitted postprocessor; errors from the stages.
  public func passes(
    _ batch: ImageBatch, batchSize: Int = 1_000, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> [Probabilities] {
    precondition(batchSize >= 1, "batch size must be positive")
    guard let fitted = fittedPostprocessor else {
      throw PipelineError(
        file: "pipeline", path: "postprocessors", message: "no postprocessor must be fitted")
    }
    let count = fitted.stage.passesPerImage
    var values = [[Float]](repeating: [], count: count)
    var timings = [Double](repeating: 0, count: preprocessors.count + postprocessors.count + 1)
    for first in stride(from: 0, to: batch.count, by: batchSize) {
      progress(first, batch.count)
      let part = batch.selecting(first..<min(first + batchSize, batch.count))
      for pass in 0..<count {
        let result = try runPass(pass, part, through: fitted.index, timings: &timings)
        values[pass] += result.probabilities.values
      }
    }
    return values.map {
      Probabilities(rows: batch.count, columns: classifier.classCount, values: $0)
    }
  }

  /// Fits the pipeline's fitted postprocessor on labelled images (their passes through the
  /// stages before it) and keeps the fitted stage.
  /// - Parameters:
  ///   - batch: The labelled images, at least one.
  ///   - batchSize: Images per batch while computing passes.
  ///   - progress: Called before each batch with images done and total.
  /// - Returns: The fitted pipeline's accuracy on `batch` (its training accuracy).
  /// - Throws: `PipelineError` without a fitted postprocessor or images; errors from the stages
  ///   and from fitting.
  @discardableResult
  public mutating func fitPostprocessor(
    on batch: ImageBatch, batchSize: Int = 1_000, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> Double {
    guard var fitted = fittedPostprocessor else {
      throw PipelineError(
        file: "pipeline", path: "postprocessors", message: "no postprocessor must be fitted")
    }
    guard batch.count > 0 else {
      throw PipelineError(file: "pipeline", path: "fit", message: "no images to fit on")
    }
    let passes = try self.passes(batch, batchSize: batchSize, progress: progress)
    try fitted.stage.fit(passes: passes, labels: batch.labels)
    var probabilities = try fitted.stage.process(passes: passes)
    postprocessors[fitted.index] = fitted.stage
    for stage in postprocessors.dropFirst(fitted.index + 1) {
      probabilities = try stage.process(probabilities)
    }
    let predicted = probabilities.predictedClasses
    let correct = zip(predicted, batch.labels).count(where: { $0 == $1 })
    return Double(correct) / Double(batch.count)
  }
}
