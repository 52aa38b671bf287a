/// The graph of an ONNX model (`GraphProto`): nodes in topological order, initializers
/// (weights), inputs and outputs. Sparse initializers are rejected.
struct ONNXGraph: Equatable, Sendable {
  var name = ""
  var nodes: [ONNXNode] = []
  var initializers: [ONNXTensor] = []
  var inputs: [ONNXValueInfo] = []
  var outputs: [ONNXValueInfo] = []

  init() {}

  init(reading reader: inout ProtobufReader, decoder: ONNXDecoder) throws {
    while let key = try reader.nextField() {
      switch key.number {
      case 1:
        var message = try reader.readMessage(key, "node")
        nodes.append(try ONNXNode(reading: &message, decoder: decoder, index: nodes.count))
      case 2: name = try reader.readString(key, "name")
      case 5:
        var message = try reader.readMessage(key, "initializer")
        initializers.append(
          try ONNXTensor(
            reading: &message, decoder: decoder, field: "initializer #\(initializers.count)"))
      case 11:
        var message = try reader.readMessage(key, "input")
        inputs.append(try ONNXValueInfo(reading: &message))
      case 12:
        var message = try reader.readMessage(key, "output")
        outputs.append(try ONNXValueInfo(reading: &message))
      case 15:
        throw reader.error(
          at: key.offset, expected: "dense initializers only", found: "a sparse initializer")
      default: try reader.skip(key)
      }
    }
  }
}
