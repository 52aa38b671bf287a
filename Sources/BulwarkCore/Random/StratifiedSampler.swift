/// Seeded, stratified sampling of labelled items: each class keeps its share of the sample.
public enum StratifiedSampler {
  /// The indices of a seeded, stratified sample of `count` items: each class keeps its share
  /// (largest-remainder rounding, ties to the lower class index), and the items of each class
  /// are drawn uniformly without replacement.
  /// - Parameters:
  ///   - labels: One class index (>= 0) per item.
  ///   - count: How many items to draw; all of them when it is at least `labels.count`.
  ///   - seed: The seed of the draw.
  /// - Returns: Ascending indices into `labels`; the same seed gives the same indices.
  /// - Complexity: O(n) in the number of items.
  public static func sample(labels: [Int], count: Int, seed: UInt64) -> [Int] {
    precondition(count >= 0, "sample size must not be negative")
    guard count < labels.count else { return Array(labels.indices) }
    var members = [[Int]](repeating: [], count: (labels.max() ?? -1) + 1)
    for (index, label) in labels.enumerated() { members[label].append(index) }
    let quotas = apportion(count, among: members.map(\.count))
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

  /// Splits `total` into whole shares proportional to `sizes` (Hamilton's largest-remainder
  /// method), never giving a class more than it has.
  package static func apportion(_ total: Int, among sizes: [Int]) -> [Int] {
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
