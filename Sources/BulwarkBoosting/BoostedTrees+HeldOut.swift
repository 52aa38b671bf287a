import BulwarkCore

extension BoostedTrees {
  /// Which rows a fit learns from and which it holds out for early stopping.
  public struct HeldOutSplit: Sendable, Equatable {
    /// The rows the trees learn from, ascending.
    public var training: [Int]
    /// The held-out rows, ascending.
    public var validation: [Int]
  }

  /// A seeded, stratified split: `fraction` of the rows (rounded), each class keeping its
  /// share, held out; the rest to learn from.
  /// - Parameters:
  ///   - labels: One class per row.
  ///   - fraction: The share held out, in [0, 1).
  ///   - seed: The split's seed.
  /// - Returns: Both parts.
  public static func heldOutSplit(labels: [Int], fraction: Double, seed: UInt64) -> HeldOutSplit {
    let count = Int((fraction * Double(labels.count)).rounded())
    let validation =
      count == 0 ? [] : StratifiedSampler.sample(labels: labels, count: count, seed: seed)
    let held = Set(validation)
    return HeldOutSplit(
      training: labels.indices.filter { !held.contains($0) }, validation: validation)
  }

  /// Fits trees on the rows a seeded, stratified split does not hold out, stopping early on the
  /// held-out rows when `parameters.earlyStoppingRounds > 0` (LightGBM's `valid_sets`).
  /// - Parameters:
  ///   - features: `rows x columns` values, row-major.
  ///   - rows: The row count.
  ///   - columns: The feature count.
  ///   - labels: One class per row.
  ///   - classes: The class count.
  ///   - parameters: Training parameters; `seed` also seeds the split.
  ///   - validFraction: The share held out, in [0, 1); 0 holds nothing out.
  ///   - progress: Called after each round with its index and the held-out log loss.
  /// - Returns: The trees and the split.
  /// - Throws: `BoostingError` for bad inputs or parameters, or a split that leaves no row to
  ///   learn from.
  public static func fit(
    features: [Double], rows: Int, columns: Int, labels: [Int], classes: Int,
    parameters: BoostingParameters, validFraction: Double,
    progress: ((Int, Double?) -> Void)? = nil
  ) throws(BoostingError) -> (model: BoostedTrees, split: HeldOutSplit) {
    guard validFraction >= 0, validFraction < 1 else {
      throw .invalidParameter(
        name: "validFraction", expected: "a share in [0, 1)", found: "\(validFraction)")
    }
    let split = heldOutSplit(labels: labels, fraction: validFraction, seed: parameters.seed)
    guard !split.training.isEmpty else {
      throw .invalidInput(
        field: "validFraction", expected: "a share leaving rows to learn from",
        found: "\(validFraction) of \(rows) rows")
    }
    func values(_ indices: [Int]) -> [Double] {
      indices.flatMap { features[$0 * columns..<($0 + 1) * columns] }
    }
    let validation =
      split.validation.isEmpty
      ? nil : (features: values(split.validation), labels: split.validation.map { labels[$0] })
    let model = try fit(
      features: values(split.training), rows: split.training.count, columns: columns,
      labels: split.training.map { labels[$0] }, classes: classes, parameters: parameters,
      validation: validation, progress: progress)
    return (model, split)
  }
}
