import Foundation

/// The number formats of LightGBM's `model.txt`.
enum NumberFormat {
  /// `%.17g`: thresholds, leaf values and weights, `feature_infos` ranges.
  static func g17(_ x: Double) -> String { String(format: "%.17g", x) }

  /// `%g` (6 significant digits): internal values and weights, shrinkage, parameters.
  static func g(_ x: Double) -> String { String(format: "%g", x) }

  /// `%g` of a C `float`: split gains.
  static func g(_ x: Float) -> String { String(format: "%g", Double(x)) }
}
