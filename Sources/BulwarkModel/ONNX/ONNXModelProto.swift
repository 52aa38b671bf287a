/// A decoded ONNX file (`ModelProto`): the graph, the operator sets it imports, and who
/// produced it.
struct ONNXModelProto: Equatable, Sendable {
  var irVersion = 0
  var producerName = ""
  var producerVersion = ""
  var graph = ONNXGraph()
  /// Imported operator sets: domain ("" for the default domain) to version.
  var opsets: [String: Int] = [:]
  /// Names of the model-local functions, which nodes may not use.
  var functionNames: Set<String> = []

  init() {}

  /// Decodes a `ModelProto`.
  /// - Throws: ``FormatError`` for malformed bytes or anything the spec rejects.
  init(bytes: [UInt8], decoder: ONNXDecoder) throws {
    var reader = ProtobufReader(bytes: bytes, file: decoder.file)
    var sawGraph = false
    while let key = try reader.nextField() {
      switch key.number {
      case 1: irVersion = try reader.readInt(key, "ir_version")
      case 2: producerName = try reader.readString(key, "producer_name")
      case 3: producerVersion = try reader.readString(key, "producer_version")
      case 7:
        var message = try reader.readMessage(key, "graph")
        graph = try ONNXGraph(reading: &message, decoder: decoder)
        sawGraph = true
      case 8:
        var message = try reader.readMessage(key, "opset_import")
        var domain = ""
        var version = 0
        while let inner = try message.nextField() {
          switch inner.number {
          case 1: domain = try message.readString(inner, "domain")
          case 2: version = try message.readInt(inner, "version")
          default: try message.skip(inner)
          }
        }
        opsets[domain == "ai.onnx" ? "" : domain] = version
      case 25:
        var message = try reader.readMessage(key, "functions")
        while let inner = try message.nextField() {
          if inner.number == 1 {
            functionNames.insert(try message.readString(inner, "name"))
          } else {
            try message.skip(inner)
          }
        }
      default: try reader.skip(key)
      }
    }
    guard sawGraph else {
      throw decoder.error("graph", expected: "a graph (field 7)", found: "none")
    }
  }
}
