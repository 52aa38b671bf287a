/// A node attribute of an ONNX model (`AttributeProto`): one float, int, string or tensor, or
/// a list of floats, ints or strings. Graph attributes (control flow) are rejected.
struct ONNXAttribute: Equatable, Sendable {
  enum Value: Equatable, Sendable {
    case float(Float)
    case int(Int64)
    case string(String)
    case tensor(ONNXTensor)
    case floats([Float])
    case ints([Int64])
    case strings([String])
  }

  var name: String
  var value: Value

  /// Decodes an `AttributeProto`; the `type` field decides, else the field present.
  init(reading reader: inout ProtobufReader, decoder: ONNXDecoder, node: String) throws {
    let start = reader.position
    var name = ""
    var type: Int?
    var f: Float?
    var i: Int64?
    var s: String?
    var t: ONNXTensor?
    var floats: [Float] = []
    var ints: [Int64] = []
    var strings: [String] = []
    while let key = try reader.nextField() {
      switch key.number {
      case 1: name = try reader.readString(key, "name")
      case 2: f = try reader.readFloat(key, "f")
      case 3: i = try reader.readInt64(key, "i")
      case 4:
        let range = try reader.readBytes(key, "s")
        s = String(decoding: reader.bytes[range], as: UTF8.self)
      case 5:
        var message = try reader.readMessage(key, "t")
        t = try ONNXTensor(reading: &message, decoder: decoder, field: "\(node) attribute")
      case 6, 11:
        throw reader.error(
          at: key.offset, expected: "no graph attributes (control flow is not supported)",
          found: "a graph in attribute '\(name)' of \(node)")
      case 7: try reader.readFloats(key, "floats", into: &floats)
      case 8: try reader.readInt64s(key, "ints", into: &ints)
      case 9:
        let range = try reader.readBytes(key, "strings")
        strings.append(String(decoding: reader.bytes[range], as: UTF8.self))
      case 20: type = try reader.readInt(key, "type")
      default: try reader.skip(key)
      }
    }
    self.name = name
    let inferred: Int? =
      type
      ?? (t != nil
        ? 4
        : s != nil
          ? 3
          : i != nil
            ? 2
            : f != nil
              ? 1
              : !floats.isEmpty
                ? 6 : !ints.isEmpty ? 7 : !strings.isEmpty ? 8 : nil)
    switch inferred {
    case 1: value = .float(f ?? 0)
    case 2: value = .int(i ?? 0)
    case 3: value = .string(s ?? "")
    case 4:
      guard let t else {
        throw reader.error(at: start, expected: "a tensor in attribute '\(name)'", found: "none")
      }
      value = .tensor(t)
    case 6: value = .floats(floats)
    case 7: value = .ints(ints)
    case 8: value = .strings(strings)
    default:
      throw reader.error(
        at: start,
        expected: "attribute '\(name)' of \(node) of type FLOAT, INT, STRING, TENSOR, FLOATS, "
          + "INTS or STRINGS",
        found: inferred.map { "type \($0)" } ?? "no value")
    }
  }

  init(name: String, value: Value) {
    self.name = name
    self.value = value
  }
}
