import BulwarkData

/// A reader of the protobuf wire format over one message's bytes.
///
/// Each field starts with a varint key `number << 3 | wireType`. Wire types 0 (varint),
/// 1 (8 bytes), 2 (length-delimited) and 5 (4 bytes) are read; 3 and 4 (groups) are rejected.
/// Every length is bounds-checked and nested messages are limited in depth, so a malformed file
/// is a ``FormatError`` naming the byte offset, never a crash.
struct ProtobufReader {
  /// How a field's value is encoded.
  enum WireType: Int {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case fixed32 = 5
  }

  /// One field key.
  struct Field {
    var number: Int
    var wireType: WireType
    /// The offset of the key in the file.
    var offset: Int
  }

  /// Nested messages deeper than this are rejected (ONNX graphs nest about 6 deep).
  static let maximumDepth = 64

  let bytes: [UInt8]
  let file: String
  private(set) var position: Int
  let end: Int
  let depth: Int

  /// A reader of a whole file.
  init(bytes: [UInt8], file: String) {
    self.bytes = bytes
    self.file = file
    position = 0
    end = bytes.count
    depth = 0
  }

  private init(parent: ProtobufReader, range: Range<Int>) {
    bytes = parent.bytes
    file = parent.file
    position = range.lowerBound
    end = range.upperBound
    depth = parent.depth + 1
  }

  var isAtEnd: Bool { position >= end }

  func error(at offset: Int, expected: String, found: String) -> FormatError {
    FormatError(file: file, location: .offset(offset), expected: expected, found: found)
  }

  /// The next field's key, or nil at the end of the message.
  /// - Throws: ``FormatError`` for a bad key, a group or an unknown wire type.
  mutating func nextField() throws -> Field? {
    guard position < end else { return nil }
    let offset = position
    let key = try readVarint()
    let number = key >> 3
    guard number >= 1, number <= 0x1FFF_FFFF else {
      throw error(at: offset, expected: "a field number in 1...536870911", found: "\(number)")
    }
    let rawType = Int(key & 7)
    guard let wireType = WireType(rawValue: rawType) else {
      let name = rawType == 3 || rawType == 4 ? " (a group, not used by ONNX)" : ""
      throw error(
        at: offset, expected: "wire type 0, 1, 2 or 5 for field \(number)",
        found: "wire type \(rawType)\(name)")
    }
    return Field(number: Int(number), wireType: wireType, offset: offset)
  }

  /// A varint of at most 10 bytes.
  /// - Throws: ``FormatError`` for a truncated or over-long varint.
  mutating func readVarint() throws -> UInt64 {
    let start = position
    var result: UInt64 = 0
    var shift: UInt64 = 0
    while true {
      guard position < end else {
        throw error(at: start, expected: "a complete varint", found: "the end of the data")
      }
      let byte = bytes[position]
      position += 1
      if shift == 63 && byte > 1 {
        throw error(at: start, expected: "a varint of at most 64 bits", found: "more bits")
      }
      result |= UInt64(byte & 0x7F) << shift
      if byte & 0x80 == 0 { return result }
      shift += 7
      if shift > 63 {
        throw error(at: start, expected: "a varint of at most 10 bytes", found: "more bytes")
      }
    }
  }

  /// `count` raw bytes' range.
  mutating func take(_ count: Int) throws -> Range<Int> {
    guard count >= 0, count <= end - position else {
      throw error(
        at: position, expected: "\(count) more bytes",
        found: "\(end - position) before the end of the message")
    }
    defer { position += count }
    return position..<(position + count)
  }

  func littleEndian(_ range: Range<Int>) -> UInt64 {
    var value: UInt64 = 0
    for index in range.reversed() { value = value << 8 | UInt64(bytes[index]) }
    return value
  }

  mutating func readFixed32() throws -> UInt32 {
    UInt32(truncatingIfNeeded: littleEndian(try take(4)))
  }
  mutating func readFixed64() throws -> UInt64 { littleEndian(try take(8)) }

  /// The range of a length-delimited field's payload.
  mutating func readLengthDelimited() throws -> Range<Int> {
    let offset = position
    let length = try readVarint()
    guard length <= UInt64(end - position) else {
      throw error(
        at: offset, expected: "a length of at most \(end - position) bytes (the message's rest)",
        found: "\(length)")
    }
    return try take(Int(length))
  }

  /// Requires `field` to have `wireType`.
  func expect(_ field: Field, _ wireType: WireType, _ name: String) throws {
    guard field.wireType == wireType else {
      throw error(
        at: field.offset,
        expected: "wire type \(wireType.rawValue) for \(name) (field \(field.number))",
        found: "wire type \(field.wireType.rawValue)")
    }
  }

  /// A varint field as a signed 64-bit integer (negative numbers are 10-byte two's complement).
  mutating func readInt64(_ field: Field, _ name: String) throws -> Int64 {
    try expect(field, .varint, name)
    return Int64(bitPattern: try readVarint())
  }

  /// A varint field as an `Int`-sized value.
  mutating func readInt(_ field: Field, _ name: String) throws -> Int {
    Int(truncatingIfNeeded: try readInt64(field, name))
  }

  /// A 4-byte float field.
  mutating func readFloat(_ field: Field, _ name: String) throws -> Float {
    try expect(field, .fixed32, name)
    return Float(bitPattern: try readFixed32())
  }

  /// A UTF-8 string field.
  mutating func readString(_ field: Field, _ name: String) throws -> String {
    try expect(field, .lengthDelimited, name)
    let range = try readLengthDelimited()
    guard let string = String(validating: bytes[range], as: UTF8.self) else {
      throw error(at: field.offset, expected: "UTF-8 text for \(name)", found: "invalid bytes")
    }
    return string
  }

  /// A bytes field's range.
  mutating func readBytes(_ field: Field, _ name: String) throws -> Range<Int> {
    try expect(field, .lengthDelimited, name)
    return try readLengthDelimited()
  }

  /// A reader of a nested message.
  /// - Throws: ``FormatError`` for a wrong wire type, a bad length or too deep nesting.
  mutating func readMessage(_ field: Field, _ name: String) throws -> ProtobufReader {
    try expect(field, .lengthDelimited, name)
    let range = try readLengthDelimited()
    guard depth < ProtobufReader.maximumDepth else {
      throw error(
        at: field.offset, expected: "messages nested at most \(ProtobufReader.maximumDepth) deep",
        found: "deeper nesting")
    }
    return ProtobufReader(parent: self, range: range)
  }

  /// Appends a repeated varint field, packed (one length-delimited run) or unpacked.
  mutating func readInt64s(_ field: Field, _ name: String, into values: inout [Int64]) throws {
    if field.wireType == .lengthDelimited {
      var packed = ProtobufReader(parent: self, range: try readLengthDelimited())
      while !packed.isAtEnd { values.append(Int64(bitPattern: try packed.readVarint())) }
    } else {
      values.append(try readInt64(field, name))
    }
  }

  /// Appends a repeated 4-byte float field, packed or unpacked.
  mutating func readFloats(_ field: Field, _ name: String, into values: inout [Float]) throws {
    if field.wireType == .lengthDelimited {
      var packed = ProtobufReader(parent: self, range: try readLengthDelimited())
      guard (packed.end - packed.position) % 4 == 0 else {
        throw error(
          at: field.offset, expected: "a multiple of 4 bytes of packed \(name)",
          found: "\(packed.end - packed.position) bytes")
      }
      while !packed.isAtEnd { values.append(Float(bitPattern: try packed.readFixed32())) }
    } else {
      values.append(try readFloat(field, name))
    }
  }

  /// Appends a repeated 8-byte field (double or uint64 bits), packed or unpacked.
  mutating func readFixed64s(_ field: Field, _ name: String, into values: inout [UInt64]) throws {
    if field.wireType == .lengthDelimited {
      var packed = ProtobufReader(parent: self, range: try readLengthDelimited())
      guard (packed.end - packed.position) % 8 == 0 else {
        throw error(
          at: field.offset, expected: "a multiple of 8 bytes of packed \(name)",
          found: "\(packed.end - packed.position) bytes")
      }
      while !packed.isAtEnd { values.append(try packed.readFixed64()) }
    } else {
      try expect(field, .fixed64, name)
      values.append(try readFixed64())
    }
  }

  /// Skips a field's value by its wire type.
  mutating func skip(_ field: Field) throws {
    switch field.wireType {
    case .varint: _ = try readVarint()
    case .fixed64: _ = try take(8)
    case .lengthDelimited: _ = try readLengthDelimited()
    case .fixed32: _ = try take(4)
    }
  }
}
