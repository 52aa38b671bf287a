import Foundation

/// `value` with a fixed number of decimals, for human-readable reports.
func format(_ value: Double, digits: Int) -> String {
  String(format: "%.\(digits)f", value)
}
