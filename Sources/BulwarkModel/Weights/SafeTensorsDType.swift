/// The element type of a safetensors tensor, spelled in the header exactly as its raw value.
///
/// The cases and their order are those of the reference implementation
/// (huggingface/safetensors `Dtype`, 0.8): the reference writer sorts tensors by this order,
/// last case first, so `allCases` order is part of the file format.
public enum SafeTensorsDType: String, CaseIterable, Sendable {
  /// A boolean stored in one byte.
  case bool = "BOOL"
  /// FP4 E2M1 (OCP microscaling), two values a byte.
  case float4 = "F4"
  /// FP6 E2M3 (OCP microscaling), four values in three bytes.
  case float6E2M3 = "F6_E2M3"
  /// FP6 E3M2 (OCP microscaling), four values in three bytes.
  case float6E3M2 = "F6_E3M2"
  /// An unsigned 8-bit integer.
  case uint8 = "U8"
  /// A signed 8-bit integer.
  case int8 = "I8"
  /// FP8 E5M2 (arXiv:2209.05433).
  case float8E5M2 = "F8_E5M2"
  /// FP8 E4M3 (arXiv:2209.05433).
  case float8E4M3 = "F8_E4M3"
  /// FP8 E8M0, an exponent-only scale (OCP microscaling).
  case float8E8M0 = "F8_E8M0"
  /// FP8 E4M3 without infinities and with a single unsigned zero.
  case float8E4M3FNUZ = "F8_E4M3FNUZ"
  /// FP8 E5M2 without infinities and with a single unsigned zero.
  case float8E5M2FNUZ = "F8_E5M2FNUZ"
  /// A signed 16-bit integer.
  case int16 = "I16"
  /// An unsigned 16-bit integer.
  case uint16 = "U16"
  /// IEEE 754 half precision.
  case float16 = "F16"
  /// bfloat16: the upper half of a float32.
  case bfloat16 = "BF16"
  /// A signed 32-bit integer.
  case int32 = "I32"
  /// An unsigned 32-bit integer.
  case uint32 = "U32"
  /// IEEE 754 single precision.
  case float32 = "F32"
  /// A complex number of two float32 values (real, imaginary).
  case complex64 = "C64"
  /// IEEE 754 double precision.
  case float64 = "F64"
  /// A signed 64-bit integer.
  case int64 = "I64"
  /// An unsigned 64-bit integer.
  case uint64 = "U64"

  /// The size of one element in bits: 4 and 6 for the packed FP4 and FP6 types, otherwise a
  /// multiple of 8.
  public var bitCount: Int {
    switch self {
    case .float4: 4
    case .float6E2M3, .float6E3M2: 6
    case .bool, .uint8, .int8, .float8E5M2, .float8E4M3, .float8E8M0, .float8E4M3FNUZ,
      .float8E5M2FNUZ:
      8
    case .int16, .uint16, .float16, .bfloat16: 16
    case .int32, .uint32, .float32: 32
    case .complex64, .float64, .int64, .uint64: 64
    }
  }

  /// The position of the type in the reference's declaration order, which its writer sorts by.
  var rank: Int {
    Self.allCases.firstIndex(of: self) ?? 0
  }

  /// The number of bytes `count` elements take, as the reference computes it: `count` times
  /// the bit size, which must be a whole number of bytes (a packed tensor may not end inside a
  /// byte).
  /// - Parameter count: The number of elements.
  /// - Returns: The byte count, or `nil` if it overflows or does not end on a byte boundary.
  func byteCount(elements count: Int) -> Int? {
    let (bits, overflow) = count.multipliedReportingOverflow(by: bitCount)
    guard !overflow, bits % 8 == 0 else { return nil }
    return bits / 8
  }
}
