import BulwarkCore

extension ImageBatch {
  /// The indices of a seeded, stratified sample of `count` images (see `StratifiedSampler`),
  /// in ascending order, so the sample keeps the batch's order.
  /// - Parameters:
  ///   - count: How many images to draw; all of them when it is at least `self.count`.
  ///   - seed: The seed of the draw.
  /// - Returns: Ascending indices into the batch.
  public func stratifiedSampleIndices(count: Int, seed: UInt64) -> [Int] {
    StratifiedSampler.sample(labels: labels, count: count, seed: seed)
  }

  /// A seeded, stratified sample of `count` images, in the batch's order.
  /// - Parameters:
  ///   - count: How many images to draw; all of them when it is at least `self.count`.
  ///   - seed: The seed of the draw.
  /// - Returns: The sampled images with their labels and the batch's class names.
  public func stratifiedSample(count: Int, seed: UInt64) -> ImageBatch {
    selecting(stratifiedSampleIndices(count: count, seed: seed))
  }
}
