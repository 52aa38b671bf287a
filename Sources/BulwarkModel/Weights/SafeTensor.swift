import BulwarkData

/// One tensor of a safetensors file: its element type, its shape and its raw little-endian,
/// row-major bytes.
public struct SafeTensor: Equatable, Sendable {
  /// The element type.
  public let dtype: SafeTensorsDType
  /// The length of each axis; `[]` is a scalar, and a zero axis makes an empty tensor.
  public let shape: [Int]
  /// The elements, little-endian, in row-major order, exactly as stored in the file.
  public let bytes: [UInt8]

  /// Creates a tensor from raw bytes.
  /// - Parameters:
  ///   - dtype: The element type.
  ///   - shape: The length of each axis; `[]` is a scalar.
  ///   - bytes: The elements, little-endian, row-major.
  /// - Precondition: no axis is negative and `bytes` holds exactly product(shape) elements.
  public init(dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
    let (count, overflow) = shape.reduce((1, false)) { partial, dimension in
      let product = partial.0.multipliedReportingOverflow(by: dimension)
      return (product.partialValue, partial.1 || product.overflow)
    }
    precondition(
      !overflow && dtype.byteCount(elements: count) == bytes.count,
      "\(bytes.count) bytes do not hold a \(dtype.rawValue) tensor of shape \(shape)")
    self.dtype = dtype
    self.shape = shape
    self.bytes = bytes
  }

  /// Creates a float32 (`F32`) tensor.
  /// - Parameters:
  ///   - values: The elements in row-major order.
  ///   - shape: The length of each axis; `[]` is a scalar.
  /// - Precondition: `values.count` is the product of `shape`.
  public init(_ values: [Float], shape: [Int]) {
    var bytes = [UInt8]()
    bytes.reserveCapacity(values.count * 4)
    for value in values {
      withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }
    self.init(dtype: .float32, shape: shape, bytes: bytes)
  }

  /// Creates a signed 64-bit integer (`I64`) tensor, as PyTorch stores a batch-norm layer's
  /// `num_batches_tracked`.
  /// - Parameters:
  ///   - values: The elements in row-major order.
  ///   - shape: The length of each axis; `[]` is a scalar.
  /// - Precondition: `values.count` is the product of `shape`.
  public init(_ values: [Int64], shape: [Int]) {
    var bytes = [UInt8]()
    bytes.reserveCapacity(values.count * 8)
    for value in values {
      withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
    self.init(dtype: .int64, shape: shape, bytes: bytes)
  }

  /// The number of elements: the product of the shape.
  public var count: Int {
    shape.reduce(1, *)
  }

  /// The elements as float32, converting float64, float16 and bfloat16 (float64 rounds to
  /// nearest, the half types are exact).
  /// - Returns: The elements in row-major order.
  /// - Throws: `FormatError` at field `dtype` if the tensor is not of a floating-point type
  ///   Bulwark converts (F16, BF16, F32, F64).
  public func floats() throws(FormatError) -> [Float] {
    try floats(field: "dtype", file: "safetensors tensor")
  }

  /// The elements as float32, naming the tensor and its file in the error.
  /// - Parameters:
  ///   - field: The field an error names, e.g. `conv1.weight.dtype`.
  ///   - file: The file the tensor came from.
  /// - Returns: The elements in row-major order.
  /// - Throws: `FormatError` if the tensor is not F16, BF16, F32 or F64.
  func floats(field: String, file: String) throws(FormatError) -> [Float] {
    // The bytes may come from any offset of the file: assemble each value from bytes rather
    // than loading through a typed pointer, which would assume alignment.
    switch dtype {
    case .float32:
      return (0..<count).map { Float(bitPattern: UInt32(littleEndianAt: $0 * 4, in: bytes)) }
    case .float64:
      return (0..<count).map {
        Float(Double(bitPattern: UInt64(littleEndianAt: $0 * 8, in: bytes)))
      }
    case .float16:
      return (0..<count).map {
        Float(halfBits: UInt16(truncatingIfNeeded: UInt32(littleEndianAt: $0 * 2, in: bytes, 2)))
      }
    case .bfloat16:
      return (0..<count).map {
        Float(bitPattern: UInt32(littleEndianAt: $0 * 2, in: bytes, 2) << 16)
      }
    default:
      throw FormatError(
        file: file, location: .field(field),
        expected: "a floating-point tensor (F16, BF16, F32 or F64)", found: dtype.rawValue)
    }
  }
}

extension UInt32 {
  /// Reads `width` (at most 4) little-endian bytes starting at `offset`.
  init(littleEndianAt offset: Int, in bytes: [UInt8], _ width: Int = 4) {
    var value: UInt32 = 0
    for index in 0..<width {
      value |= UInt32(bytes[offset + index]) << (8 * index)
    }
    self = value
  }
}

extension UInt64 {
  /// Reads 8 little-endian bytes starting at `offset`.
  init(littleEndianAt offset: Int, in bytes: [UInt8]) {
    var value: UInt64 = 0
    for index in 0..<8 {
      value |= UInt64(bytes[offset + index]) << (8 * index)
    }
    self = value
  }
}

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
