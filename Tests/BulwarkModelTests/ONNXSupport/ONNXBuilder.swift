/// Builds small ONNX models (`ModelProto` bytes) in the shapes PyTorch's exporters write, for
/// tests.
struct ONNXBuilder {
  enum Attribute {
    case int(Int64), ints([Int64]), float(Float), string(String), tensor(Tensor)
  }

  struct Tensor {
    var name: String
    var dims: [Int]
    var floats: [Float]?
    var ints: [Int64]?
  }

  struct Node {
    var op: String
    var inputs: [String]
    var outputs: [String]
    var name: String
    var attributes: [(String, Attribute)]
  }

  /// How float initializers are stored.
  enum Storage {
    case rawData, floatData
    /// In one external file, back to back, as the dynamo exporter's `model.onnx.data`.
    case external(String)
  }

  var opset: Int
  var producer = "pytorch"
  var producerVersion = "2.5.0"
  var nodes: [Node] = []
  var initializers: [Tensor] = []
  var inputName = "input"
  var input: (channels: Int, height: Int, width: Int) = (1, 28, 28)
  /// The input's dimensions as declared, nil for a free one (an exporter's dynamic axes);
  /// by default [batch free, `input`].
  var inputDims: [Int?]?
  var outputName = "output"
  var classes = 10
  /// The TorchScript exporter also lists every initializer as a graph input.
  var initializersAsInputs = false
  var storage = Storage.rawData

  init(opset: Int) { self.opset = opset }

  mutating func node(
    _ op: String, _ inputs: [String], _ outputs: [String], name: String = "",
    _ attributes: [(String, Attribute)] = []
  ) {
    nodes.append(Node(op: op, inputs: inputs, outputs: outputs, name: name, attributes: attributes))
  }

  mutating func initializer(_ name: String, dims: [Int], floats: [Float]) {
    initializers.append(Tensor(name: name, dims: dims, floats: floats, ints: nil))
  }

  mutating func initializer(_ name: String, dims: [Int], ints: [Int64]) {
    initializers.append(Tensor(name: name, dims: dims, floats: nil, ints: ints))
  }

  static func writeTensor(
    _ tensor: Tensor, into writer: inout ProtobufWriter, storage: Storage,
    external: inout [UInt8]
  ) {
    for dim in tensor.dims { writer.int(1, Int64(dim)) }
    writer.int(2, tensor.floats != nil ? 1 : 7)
    writer.string(8, tensor.name)
    if let ints = tensor.ints {
      writer.packedInts(7, ints)
      return
    }
    let floats = tensor.floats ?? []
    switch storage {
    case .rawData: writer.data(9, ProtobufWriter.rawFloats(floats))
    case .floatData: writer.packedFloats(4, floats)
    case .external(let location):
      let offset = external.count
      external += ProtobufWriter.rawFloats(floats)
      for (key, value) in [
        ("location", location), ("offset", "\(offset)"), ("length", "\(floats.count * 4)"),
      ] {
        writer.message(13) {
          $0.string(1, key)
          $0.string(2, value)
        }
      }
      writer.int(14, 1)
    }
  }

  static func valueInfo(
    _ writer: inout ProtobufWriter, field: Int, name: String, dims: [Int?], type: Int = 1
  ) {
    writer.message(field) { info in
      info.string(1, name)
      info.message(2) { typeProto in
        typeProto.message(1) { tensorType in
          tensorType.int(1, Int64(type))
          tensorType.message(2) { shape in
            for dim in dims {
              shape.message(1) { entry in
                if let dim { entry.int(1, Int64(dim)) } else { entry.string(2, "batch") }
              }
            }
          }
        }
      }
    }
  }

  /// The model's bytes, and the external data file's bytes (empty unless external storage).
  func serialize() -> (model: [UInt8], external: [UInt8]) {
    var external: [UInt8] = []
    var writer = ProtobufWriter()
    writer.int(1, 8)
    writer.string(2, producer)
    writer.string(3, producerVersion)
    writer.message(7) { graph in
      for node in nodes {
        graph.message(1) { message in
          for input in node.inputs { message.string(1, input) }
          for output in node.outputs { message.string(2, output) }
          if !node.name.isEmpty { message.string(3, node.name) }
          message.string(4, node.op)
          for (name, attribute) in node.attributes {
            message.message(5) { a in
              a.string(1, name)
              switch attribute {
              case .int(let value):
                a.int(3, value)
                a.int(20, 2)
              case .ints(let values):
                // Exporters write ints unpacked.
                for value in values { a.int(8, value) }
                a.int(20, 7)
              case .float(let value):
                a.float(2, value)
                a.int(20, 1)
              case .string(let value):
                a.string(4, value)
                a.int(20, 3)
              case .tensor(let tensor):
                a.message(5) {
                  ONNXBuilder.writeTensor(tensor, into: &$0, storage: .rawData, external: &external)
                }
                a.int(20, 4)
              }
            }
          }
        }
      }
      graph.string(2, "main_graph")
      for tensor in initializers {
        graph.message(5) {
          ONNXBuilder.writeTensor(tensor, into: &$0, storage: storage, external: &external)
        }
      }
      ONNXBuilder.valueInfo(
        &graph, field: 11, name: inputName,
        dims: inputDims ?? [nil, input.channels, input.height, input.width])
      if initializersAsInputs {
        for tensor in initializers {
          ONNXBuilder.valueInfo(
            &graph, field: 11, name: tensor.name, dims: tensor.dims,
            type: tensor.floats != nil ? 1 : 7)
        }
      }
      ONNXBuilder.valueInfo(&graph, field: 12, name: outputName, dims: [nil, classes])
    }
    writer.message(8) { opset in
      opset.string(1, "")
      opset.int(2, Int64(self.opset))
    }
    return (writer.bytes, external)
  }
}
