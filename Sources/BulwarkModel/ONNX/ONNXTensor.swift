import BulwarkData

/// A constant tensor of an ONNX model (an initializer, a `Constant`, or a folded shape
/// computation): its shape and values, as float32 or int64.
///
/// Floating types (FLOAT, FLOAT16, BFLOAT16, DOUBLE) become float32; integer and boolean types
/// become int64.
struct ONNXTensor: Equatable, Sendable {
  /// ONNX `TensorProto.DataType` codes this reader accepts.
  enum DataType: Int, Sendable {
    case float = 1, uint8 = 2, int8 = 3, uint16 = 4, int16 = 5, int32 = 6, int64 = 7
    case bool = 9, float16 = 10, double = 11, uint32 = 12, uint64 = 13, bfloat16 = 16

    /// Bytes per element in `raw_data`.
    var size: Int {
      switch self {
      case .uint8, .int8, .bool: 1
      case .uint16, .int16, .float16, .bfloat16: 2
      case .float, .int32, .uint32: 4
      case .int64, .double, .uint64: 8
      }
    }

    var isFloatingPoint: Bool {
      self == .float || self == .float16 || self == .bfloat16 || self == .double
    }
  }

  /// The values, in row-major order.
  enum Values: Equatable, Sendable {
    case floats([Float])
    case ints([Int64])
  }

  var name = ""
  var dims: [Int]
  var values: Values

  var count: Int { dims.reduce(1, *) }

  /// The values as float32.
  var floats: [Float] {
    switch values {
    case .floats(let values): values
    case .ints(let values): values.map { Float($0) }
    }
  }

  /// The values as int64 (floats truncated toward zero, as ONNX `Cast`).
  var ints: [Int64] {
    switch values {
    case .floats(let values):
      values.map { $0.isFinite ? Int64(exactly: $0.rounded(.towardZero)) ?? 0 : 0 }
    case .ints(let values): values
    }
  }

  var isFloat: Bool {
    if case .floats = values { return true }
    return false
  }

  init(name: String = "", dims: [Int], floats: [Float]) {
    self.name = name
    self.dims = dims
    values = .floats(floats)
  }

  init(name: String = "", dims: [Int], ints: [Int64]) {
    self.name = name
    self.dims = dims
    values = .ints(ints)
  }

  /// Decodes a `TensorProto`.
  /// - Parameters:
  ///   - reader: The message.
  ///   - decoder: Where external data comes from.
  ///   - field: The tensor's place for error messages.
  /// - Throws: ``FormatError`` for a malformed message, an unsupported data type, segments, a
  ///   data size that does not match the dims, or bad external data.
  init(reading reader: inout ProtobufReader, decoder: ONNXDecoder, field: String) throws {
    var dims: [Int64] = []
    var rawType: Int?
    var floatData: [Float] = []
    var int32Data: [Int64] = []
    var int64Data: [Int64] = []
    var doubleData: [UInt64] = []
    var uint64Data: [Int64] = []
    var raw: Range<Int>?
    var external: [String: String] = [:]
    var dataLocation = 0
    var name = ""
    let start = reader.position
    while let key = try reader.nextField() {
      switch key.number {
      case 1: try reader.readInt64s(key, "dims", into: &dims)
      case 2: rawType = try reader.readInt(key, "data_type")
      case 3:
        throw reader.error(
          at: key.offset, expected: "a tensor without segments", found: "a segment")
      case 4: try reader.readFloats(key, "float_data", into: &floatData)
      case 5: try reader.readInt64s(key, "int32_data", into: &int32Data)
      case 7: try reader.readInt64s(key, "int64_data", into: &int64Data)
      case 8: name = try reader.readString(key, "name")
      case 9: raw = try reader.readBytes(key, "raw_data")
      case 10: try reader.readFixed64s(key, "double_data", into: &doubleData)
      case 11: try reader.readInt64s(key, "uint64_data", into: &uint64Data)
      case 13:
        var entry = try reader.readMessage(key, "external_data")
        var entryKey = ""
        var entryValue = ""
        while let inner = try entry.nextField() {
          switch inner.number {
          case 1: entryKey = try entry.readString(inner, "key")
          case 2: entryValue = try entry.readString(inner, "value")
          default: try entry.skip(inner)
          }
        }
        external[entryKey] = entryValue
      case 14: dataLocation = try reader.readInt(key, "data_location")
      default: try reader.skip(key)
      }
    }
    let place = name.isEmpty ? field : "\(field) '\(name)'"
    guard let rawType, let type = DataType(rawValue: rawType) else {
      throw reader.error(
        at: start, expected: "a supported data type for \(place) (1-7, 9-13, 16)",
        found: rawType.map { "data type \($0)" } ?? "none")
    }
    guard dims.allSatisfy({ $0 >= 0 && $0 <= Int64(Int32.max) }) else {
      throw decoder.error(place, expected: "dims >= 0", found: "\(dims)")
    }
    let shape = dims.map { Int($0) }
    var count = 1
    for dim in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: dim)
      guard !overflow, product <= Int(Int32.max) else {
        throw decoder.error(place, expected: "fewer than 2^31 values", found: "dims \(shape)")
      }
      count = product
    }
    self.name = name
    self.dims = shape

    if dataLocation == 1 || !external.isEmpty {
      guard let location = external["location"] else {
        throw decoder.error(place, expected: "an external data 'location'", found: "none")
      }
      let bytes = try decoder.externalBytes(location, field: place)
      func number(_ key: String) throws -> Int? {
        guard let text = external[key] else { return nil }
        guard let value = Int(text), value >= 0 else {
          throw decoder.error(place, expected: "a non-negative external '\(key)'", found: text)
        }
        return value
      }
      let offset = try number("offset") ?? 0
      let length = try number("length") ?? (bytes.count - min(offset, bytes.count))
      guard offset <= bytes.count, length <= bytes.count - offset else {
        throw decoder.error(
          place, expected: "offset + length within \(location) (\(bytes.count) bytes)",
          found: "offset \(offset), length \(length)")
      }
      values = try ONNXTensor.decodeRaw(
        bytes[offset..<(offset + length)], type: type, count: count, decoder: decoder,
        place: place)
      return
    }
    if let raw {
      values = try ONNXTensor.decodeRaw(
        reader.bytes[raw], type: type, count: count, decoder: decoder, place: place)
      return
    }
    let typed: Values
    switch type {
    case .float: typed = .floats(floatData)
    case .double: typed = .floats(doubleData.map { Float(Double(bitPattern: $0)) })
    case .float16:
      typed = .floats(int32Data.map { Float(halfBits: UInt16(truncatingIfNeeded: $0)) })
    case .bfloat16:
      typed = .floats(int32Data.map { Float(bitPattern: UInt32(truncatingIfNeeded: $0) << 16) })
    case .int64: typed = .ints(int64Data)
    case .uint32, .uint64: typed = .ints(uint64Data)
    case .uint8, .int8, .uint16, .int16, .int32, .bool: typed = .ints(int32Data)
    }
    let found: Int
    switch typed {
    case .floats(let values): found = values.count
    case .ints(let values): found = values.count
    }
    guard found == count else {
      throw decoder.error(
        place, expected: "\(count) values for dims \(shape)", found: "\(found) values")
    }
    values = typed
  }

  /// Little-endian, possibly unaligned bytes of `count` elements.
  static func decodeRaw(
    _ bytes: ArraySlice<UInt8>, type: DataType, count: Int, decoder: ONNXDecoder, place: String
  ) throws -> Values {
    guard bytes.count == count * type.size else {
      throw decoder.error(
        place, expected: "\(count * type.size) bytes of data (\(count) x \(type.size))",
        found: "\(bytes.count)")
    }
    let base = bytes.startIndex
    func word(_ index: Int) -> UInt64 {
      var value: UInt64 = 0
      let start = base + index * type.size
      for byte in (start..<(start + type.size)).reversed() {
        value = value << 8 | UInt64(bytes[byte])
      }
      return value
    }
    switch type {
    case .float:
      var values = [Float](repeating: 0, count: count)
      bytes.withUnsafeBytes { raw in
        for index in 0..<count {
          values[index] = Float(
            bitPattern: UInt32(
              littleEndian: raw.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
        }
      }
      return .floats(values)
    case .double: return .floats((0..<count).map { Float(Double(bitPattern: word($0))) })
    case .float16: return .floats((0..<count).map { Float(halfBits: UInt16(word($0))) })
    case .bfloat16: return .floats((0..<count).map { Float(bitPattern: UInt32(word($0)) << 16) })
    case .int8: return .ints((0..<count).map { Int64(Int8(truncatingIfNeeded: word($0))) })
    case .int16: return .ints((0..<count).map { Int64(Int16(truncatingIfNeeded: word($0))) })
    case .int32: return .ints((0..<count).map { Int64(Int32(truncatingIfNeeded: word($0))) })
    case .int64, .uint64: return .ints((0..<count).map { Int64(bitPattern: word($0)) })
    case .uint8, .uint16, .uint32, .bool: return .ints((0..<count).map { Int64(word($0)) })
    }
  }
}
