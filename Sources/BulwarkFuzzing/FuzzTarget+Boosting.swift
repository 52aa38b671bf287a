import BulwarkBoosting

extension FuzzTarget {
  /// The most features a model may take for the fuzzer to predict with it.
  static let maximumFeatures = 4_096

  /// Reads the text as `BoostedTrees(contentsOf:)` does (UTF-8 only), then predicts a row of
  /// zeros, a row of missing values and a row of large values.
  static func readLightGBMModel(_ bytes: [UInt8], file: String) throws {
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    let model = try BoostedTrees(modelText: text, file: file)
    guard model.featureCount <= maximumFeatures else { return }
    let rows = [0, Double.nan, 1e300].flatMap {
      [Double](repeating: $0, count: model.featureCount)
    }
    _ = try model.probabilities(rows, rows: 3)
  }
}
