/// How a feature's missing values are routed, as encoded in bits 2-3 of LightGBM's
/// `decision_type`.
enum MissingType: UInt8, Sendable {
  /// No missing values: NaN is treated as 0.
  case none = 0
  /// Zeros are missing and take the default side.
  case zero = 1
  /// NaN is missing and takes the default side.
  case nan = 2
}
