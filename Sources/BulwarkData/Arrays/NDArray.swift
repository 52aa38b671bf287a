/// An n-dimensional array of one of the element types Bulwark exchanges with NumPy, in C
/// (row-major) order.
public struct NDArray: Equatable, Sendable {
  /// The values, with their element type.
  public enum Storage: Equatable, Sendable {
    /// NumPy `<f4`.
    case float32([Float])
    /// NumPy `<f8`.
    case float64([Double])
    /// NumPy `|u1`.
    case uint8([UInt8])
    /// NumPy `<i4`.
    case int32([Int32])
    /// NumPy `<i8`.
    case int64([Int64])
    /// NumPy `|b1`.
    case bool([Bool])
    /// NumPy `<U`n: strings of at most n Unicode scalars, as class names are stored.
    case unicode([String])

    /// The number of values held.
    public var count: Int {
      switch self {
      case .float32(let values): values.count
      case .float64(let values): values.count
      case .uint8(let values): values.count
      case .int32(let values): values.count
      case .int64(let values): values.count
      case .bool(let values): values.count
      case .unicode(let values): values.count
      }
    }
  }

  /// The length of each axis; `[]` is a scalar.
  public var shape: [Int]
  /// The values in C order.
  public var storage: Storage

  /// Creates an array.
  /// - Precondition: the value count is the product of the shape.
  public init(shape: [Int], storage: Storage) {
    precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension")
    precondition(storage.count == shape.reduce(1, *), "value count does not fit the shape")
    self.shape = shape
    self.storage = storage
  }

  /// The number of values: the product of the shape.
  public var count: Int { storage.count }

  /// The values as doubles, whatever the element type (booleans as 0 and 1, strings as the
  /// number they spell or NaN).
  public var doubles: [Double] {
    switch storage {
    case .float32(let values): values.map(Double.init)
    case .float64(let values): values
    case .uint8(let values): values.map(Double.init)
    case .int32(let values): values.map(Double.init)
    case .int64(let values): values.map(Double.init)
    case .bool(let values): values.map { $0 ? 1 : 0 }
    case .unicode(let values): values.map { Double($0) ?? .nan }
    }
  }
}

extension NDArray {
  /// The element type as NumPy names it (`float32`), for messages.
  package var elementDescription: String {
    switch storage {
    case .float32: "float32"
    case .float64: "float64"
    case .uint8: "uint8"
    case .int32: "int32"
    case .int64: "int64"
    case .bool: "bool"
    case .unicode: "str"
    }
  }
}
