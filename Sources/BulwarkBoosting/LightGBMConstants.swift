/// LightGBM's numeric constants, both declared as C `float` and used as `double`.
enum LightGBMConstants {
  /// `kEpsilon = 1e-15f`, added to hessian sums so that no division is by zero.
  static let epsilon = 1.0000000036274937e-15  // Double(Float(1e-15))
  /// `kZeroThreshold = 1e-35f`: values with a smaller magnitude count as zero.
  static let zeroThreshold = 1.0000000180025095e-35  // Double(Float(1e-35))
  /// Minimum rows per bin of the greedy binner (`min_data_in_bin`).
  static let minDataInBin = 3
}
