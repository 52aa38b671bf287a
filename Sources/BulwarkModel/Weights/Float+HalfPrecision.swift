extension Float {
  /// Converts IEEE 754 half-precision bits exactly (every half is a float).
  init(halfBits bits: UInt16) {
    let sign = UInt32(bits & 0x8000) << 16
    let exponent = Int(bits >> 10) & 0x1F
    let mantissa = UInt32(bits & 0x03FF)
    switch exponent {
    case 0:
      // Zero or subnormal: mantissa x 2^-24, exact in float.
      let magnitude = Float(mantissa) * 0x1p-24
      self = Float(bitPattern: sign | magnitude.bitPattern)
    case 0x1F:
      // Infinity or NaN, keeping the NaN payload.
      self = Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13)
    default:
      self = Float(bitPattern: sign | UInt32(exponent + 112) << 23 | mantissa << 13)
    }
  }
}
