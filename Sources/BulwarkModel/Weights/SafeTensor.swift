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
    guard [.float32, .float64, .float16, .bfloat16].contains(dtype) else {
      throw FormatError(
        file: file, location: .field(field),
        expected: "a floating-point tensor (F16, BF16, F32 or F64)", found: dtype.rawValue)
    }
    // The bytes come from any offset of the file: load without assuming alignment.
    return bytes.withUnsafeBytes { raw in
      func load<T: FixedWidthInteger>(_: T.Type, _ index: Int) -> T {
        T(littleEndian: raw.loadUnaligned(fromByteOffset: index &* T.bitWidth / 8, as: T.self))
      }
      return switch dtype {
      case .float64: (0..<count).map { Float(Double(bitPattern: load(UInt64.self, $0))) }
      case .float16: (0..<count).map { Float(halfBits: load(UInt16.self, $0)) }
      case .bfloat16: (0..<count).map { Float(bitPattern: UInt32(load(UInt16.self, $0)) << 16) }
      default: (0..<count).map { Float(bitPattern: load(UInt32.self, $0)) }
      }
    }
  }
}
