extension ImageBatch {
  /// The indices of a seeded, stratified sample of `count` images: each class keeps its share
  /// of the batch (largest-remainder rounding, ties to the lower class index), and the images
  /// of each class are drawn uniformly without replacement.
  ///
  /// The same seed gives the same indices; the indices are returned in ascending order, so the
  /// sample keeps the batch's order.
  /// - Parameters:
  ///   - count: How many images to draw; all of them when it is at least `self.count`.
  ///   - seed: The seed of the draw.
  /// - Returns: Ascending indices into the batch.
  /// - Complexity: O(n) in the batch size.
  public func stratifiedSampleIndices(count: Int, seed: UInt64) -> [Int] {
    precondition(count >= 0, "sample size must not be negative")
    guard count < self.count else { return Array(0..<self.count) }
    var members = [[Int]](repeating: [], count: classCount)
    for (index, label) in labels.enumerated() { members[label].append(index) }
    let quotas = Self.apportion(count, among: members.map(\.count))
    var generator = SeededGenerator(seed: seed)
    var chosen: [Int] = []
    chosen.reserveCapacity(count)
    for (label, quota) in quotas.enumerated() where quota > 0 {
      // A partial Fisher-Yates shuffle draws `quota` members without replacement.
      var pool = members[label]
      for position in 0..<quota {
        let other = position + generator.uniformInt(below: pool.count - position)
        pool.swapAt(position, other)
      }
      chosen.append(contentsOf: pool[..<quota])
    }
    return chosen.sorted()
  }

  /// A seeded, stratified sample of `count` images, in the batch's order.
  /// - Parameters:
  ///   - count: How many images to draw; all of them when it is at least `self.count`.
  ///   - seed: The seed of the draw.
  public func stratifiedSample(count: Int, seed: UInt64) -> ImageBatch {
    selecting(stratifiedSampleIndices(count: count, seed: seed))
  }

  /// Splits `total` into whole shares proportional to `sizes` (Hamilton's largest-remainder
  /// method), never giving a class more than it has.
  static func apportion(_ total: Int, among sizes: [Int]) -> [Int] {
    let population = sizes.reduce(0, +)
    guard population > 0 else { return sizes.map { _ in 0 } }
    var shares = sizes.map { $0 * total / population }
    let remainders = sizes.enumerated().map { ($0.offset, $0.element * total % population) }
    var left = total - shares.reduce(0, +)
    for (label, _) in remainders.sorted(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 })
    where left > 0 && shares[label] < sizes[label] {
      shares[label] += 1
      left -= 1
    }
    return shares
  }
}
