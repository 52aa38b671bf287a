import Foundation

extension BoostedTrees {
  /// Trains multiclass gradient-boosted trees with LightGBM 4.7's softmax objective and
  /// leaf-wise growth (see `shared/specs/gradient-boosting.md`): without sampling, the trees,
  /// thresholds and leaf counts are LightGBM's, and leaf values agree to rounding.
  /// - Parameters:
  ///   - features: Row-major `rows x columns` values; NaN is a missing value.
  ///   - rows: Number of training rows (at least 1).
  ///   - columns: Number of features (at least 1).
  ///   - labels: One class index in `0..<classes` per row.
  ///   - classes: Number of classes (at least 2).
  ///   - parameters: Training parameters; validated first.
  ///   - validation: Optional held-out rows (same columns) for early stopping on
  ///     multi_logloss; the model is truncated to the best iteration.
  ///   - progress: Called after each iteration with its 1-based number and the validation
  ///     loss (nil without validation).
  /// - Returns: The trained model.
  /// - Throws: `BoostingError.invalidParameter` or `.invalidInput` (sizes, labels out of range,
  ///   infinite values).
  /// - Complexity: O(rounds x classes x (rows x columns + numLeaves x bins x columns)).
  public static func fit(
    features: [Double], rows: Int, columns: Int, labels: [Int], classes: Int,
    parameters: BoostingParameters = BoostingParameters(),
    validation: (features: [Double], labels: [Int])? = nil,
    progress: ((Int, Double?) -> Void)? = nil
  ) throws(BoostingError) -> BoostedTrees {
    try parameters.validate()
    guard rows >= 1 else { throw .invalidInput(field: "rows", expected: ">= 1", found: "\(rows)") }
    guard columns >= 1 else {
      throw .invalidInput(field: "columns", expected: ">= 1", found: "\(columns)")
    }
    guard classes >= 2 else {
      throw .invalidInput(field: "classes", expected: ">= 2", found: "\(classes)")
    }
    try checkInputs(
      features, labels: labels, rows: rows, columns: columns, classes: classes,
      name: "training")
    var validRows = 0
    if let validation {
      validRows = validation.labels.count
      try checkInputs(
        validation.features, labels: validation.labels, rows: validRows,
        columns: columns, classes: classes, name: "validation")
    }
    var trainer = BoostingTrainer(
      features: features, rows: rows, columns: columns, labels: labels, classes: classes,
      parameters: parameters)
    return trainer.run(validation: validation, validRows: validRows, progress: progress)
  }

  private static func checkInputs(
    _ features: [Double], labels: [Int], rows: Int, columns: Int, classes: Int, name: String
  ) throws(BoostingError) {
    guard features.count == rows * columns else {
      throw .invalidInput(
        field: "\(name) features", expected: "\(rows) x \(columns) = \(rows * columns) values",
        found: "\(features.count)")
    }
    guard labels.count == rows else {
      throw .invalidInput(
        field: "\(name) labels", expected: "\(rows) labels",
        found: "\(labels.count)")
    }
    if let i = labels.firstIndex(where: { $0 < 0 || $0 >= classes }) {
      throw .invalidInput(
        field: "\(name) labels[\(i)]", expected: "0..<\(classes)",
        found: "\(labels[i])")
    }
    if let i = features.firstIndex(where: { $0.isInfinite }) {
      throw .invalidInput(
        field: "\(name) features[row \(i / columns), column \(i % columns)]",
        expected: "a finite value or NaN", found: "\(features[i])")
    }
  }
}
