// Fixed-width integer reads and writes for the binary formats. Callers check bounds first.

extension Array where Element == UInt8 {
  /// The little-endian `UInt16` at `offset`.
  func littleEndianUInt16(at offset: Int) -> UInt16 {
    UInt16(self[offset]) | UInt16(self[offset + 1]) << 8
  }

  /// The little-endian `UInt32` at `offset`.
  func littleEndianUInt32(at offset: Int) -> UInt32 {
    UInt32(littleEndianUInt16(at: offset)) | UInt32(littleEndianUInt16(at: offset + 2)) << 16
  }

  /// The little-endian `UInt64` at `offset`.
  func littleEndianUInt64(at offset: Int) -> UInt64 {
    UInt64(littleEndianUInt32(at: offset)) | UInt64(littleEndianUInt32(at: offset + 4)) << 32
  }

  /// The big-endian `UInt32` at `offset`.
  func bigEndianUInt32(at offset: Int) -> UInt32 {
    UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8
      | UInt32(self[offset + 3])
  }

  /// Appends `value` in little-endian byte order.
  mutating func appendLittleEndian(_ value: UInt16) {
    append(UInt8(truncatingIfNeeded: value))
    append(UInt8(truncatingIfNeeded: value >> 8))
  }

  /// Appends `value` in little-endian byte order.
  mutating func appendLittleEndian(_ value: UInt32) {
    appendLittleEndian(UInt16(truncatingIfNeeded: value))
    appendLittleEndian(UInt16(truncatingIfNeeded: value >> 16))
  }

  /// Appends `value` in little-endian byte order.
  mutating func appendLittleEndian(_ value: UInt64) {
    appendLittleEndian(UInt32(truncatingIfNeeded: value))
    appendLittleEndian(UInt32(truncatingIfNeeded: value >> 32))
  }

  /// Loads `count` consecutive `Raw` values in memory order starting at `start` and maps each
  /// one (the caller converts the byte order). The caller has checked that
  /// `count * MemoryLayout<Raw>.size` bytes are there.
  func loadValues<Raw: FixedWidthInteger, Value>(
    at start: Int, count: Int, _ transform: (Raw) -> Value
  ) -> [Value] {
    withUnsafeBytes { raw in
      [Value](unsafeUninitializedCapacity: count) { buffer, initialized in
        let stride = MemoryLayout<Raw>.size
        for index in 0..<count {
          let value = raw.loadUnaligned(fromByteOffset: start &+ index &* stride, as: Raw.self)
          (buffer.baseAddress.unsafelyUnwrapped + index).initialize(to: transform(value))
        }
        initialized = count
      }
    }
  }
}

/// `0x1f`-style hexadecimal with all the type's digits, for error messages.
func hexLiteral<T: FixedWidthInteger>(_ value: T) -> String {
  let digits = String(value, radix: 16)
  return "0x" + String(repeating: "0", count: max(0, T.bitWidth / 4 - digits.count)) + digits
}
