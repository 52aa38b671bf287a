#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The number formats of LightGBM's `model.txt`, printed with C's `snprintf` (Foundation's
/// `String(format:)` is several times slower, which shows when writing thousands of trees).
enum NumberFormat {
  /// `%.17g`: thresholds, leaf values and weights, `feature_infos` ranges.
  static func g17(_ x: Double) -> String { format(x, precision: 17) }

  /// `%g` (6 significant digits): internal values and weights, shrinkage, parameters.
  static func g(_ x: Double) -> String { format(x, precision: 6) }

  /// `%g` of a C `float`: split gains.
  static func g(_ x: Float) -> String { format(Double(x), precision: 6) }

  private static func format(_ x: Double, precision: Int32) -> String {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 40) { buffer in
      let n = withVaListFormat(buffer.baseAddress, precision, x)
      return String(
        decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: Int(n))
          .bindMemory(to: UInt8.self), as: UTF8.self)
    }
  }

  private static func withVaListFormat(
    _ buffer: UnsafeMutablePointer<CChar>?, _ precision: Int32, _ x: Double
  ) -> Int32 {
    withVaList([precision, x]) { vsnprintf(buffer, 40, "%.*g", $0) }
  }
}
