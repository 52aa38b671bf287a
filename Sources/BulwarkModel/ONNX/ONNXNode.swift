/// One node of an ONNX graph (`NodeProto`): an operator applied to named values.
struct ONNXNode: Equatable, Sendable {
  var inputs: [String] = []
  var outputs: [String] = []
  var name = ""
  var opType = ""
  var domain = ""
  var attributes: [ONNXAttribute] = []

  /// How errors name the node: `Conv node 'conv1'` or `Conv node #3`.
  func label(index: Int) -> String {
    name.isEmpty ? "\(opType) node #\(index)" : "\(opType) node '\(name)'"
  }

  init(reading reader: inout ProtobufReader, decoder: ONNXDecoder, index: Int) throws {
    while let key = try reader.nextField() {
      switch key.number {
      case 1: inputs.append(try reader.readString(key, "input"))
      case 2: outputs.append(try reader.readString(key, "output"))
      case 3: name = try reader.readString(key, "name")
      case 4: opType = try reader.readString(key, "op_type")
      case 5:
        var message = try reader.readMessage(key, "attribute")
        attributes.append(
          try ONNXAttribute(reading: &message, decoder: decoder, node: "node #\(index)"))
      case 7: domain = try reader.readString(key, "domain")
      default: try reader.skip(key)
      }
    }
  }

  init(
    _ opType: String, inputs: [String], outputs: [String], name: String = "",
    attributes: [ONNXAttribute] = []
  ) {
    self.opType = opType
    self.inputs = inputs
    self.outputs = outputs
    self.name = name
    self.attributes = attributes
  }

  func attribute(_ name: String) -> ONNXAttribute.Value? {
    attributes.last { $0.name == name }?.value
  }
}
