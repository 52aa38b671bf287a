/// A protobuf wire-format encoder, for tests that write ONNX files and malformed bytes.
struct ProtobufWriter {
  var bytes: [UInt8] = []

  mutating func varint(_ value: UInt64) {
    var rest = value
    while rest >= 0x80 {
      bytes.append(UInt8(rest & 0x7F) | 0x80)
      rest >>= 7
    }
    bytes.append(UInt8(rest))
  }

  mutating func key(_ field: Int, _ wireType: Int) { varint(UInt64(field << 3 | wireType)) }

  /// A varint field; negative values take 10 bytes (two's complement).
  mutating func int(_ field: Int, _ value: Int64) {
    key(field, 0)
    varint(UInt64(bitPattern: value))
  }

  mutating func float(_ field: Int, _ value: Float) {
    key(field, 5)
    fixed32(value.bitPattern)
  }

  mutating func fixed32(_ value: UInt32) {
    for shift in stride(from: 0, to: 32, by: 8) {
      bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
    }
  }

  mutating func data(_ field: Int, _ payload: [UInt8]) {
    key(field, 2)
    varint(UInt64(payload.count))
    bytes += payload
  }

  mutating func string(_ field: Int, _ value: String) { data(field, Array(value.utf8)) }

  mutating func message(_ field: Int, _ build: (inout ProtobufWriter) -> Void) {
    var inner = ProtobufWriter()
    build(&inner)
    data(field, inner.bytes)
  }

  mutating func packedFloats(_ field: Int, _ values: [Float]) {
    var inner = ProtobufWriter()
    for value in values { inner.fixed32(value.bitPattern) }
    data(field, inner.bytes)
  }

  mutating func packedInts(_ field: Int, _ values: [Int64]) {
    var inner = ProtobufWriter()
    for value in values { inner.varint(UInt64(bitPattern: value)) }
    data(field, inner.bytes)
  }

  /// Little-endian float32 bytes, as `raw_data` and external data files hold them.
  static func rawFloats(_ values: [Float]) -> [UInt8] {
    var writer = ProtobufWriter()
    for value in values { writer.fixed32(value.bitPattern) }
    return writer.bytes
  }
}
