import BulwarkCore
import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkModel

@Suite struct ONNXFormatTests {
  /// The thrown error's description, or nil when nothing is thrown.
  static func failure(_ bytes: [UInt8], folder: URL? = nil) -> String? {
    do {
      _ = try ONNXModel(bytes: bytes, file: "bad.onnx", folder: folder)
      return nil
    } catch {
      return "\(error)"
    }
  }

  /// A tiny valid graph: 1x4x4 images, Flatten, Gemm to 2 classes.
  static func tiny(opset: Int = 13) -> ONNXBuilder {
    var b = ONNXBuilder(opset: opset)
    b.input = (1, 4, 4)
    b.classes = 2
    b.initializer("w", dims: [2, 16], floats: (0..<32).map { Float($0) / 32 })
    b.initializer("b", dims: [2], floats: [0.5, -0.5])
    b.node("Flatten", ["input"], ["flat"], name: "flatten")
    b.node("Gemm", ["flat", "w", "b"], ["output"], name: "fc", [("transB", .int(1))])
    return b
  }

  @Test func loadsTheTinyGraph() throws {
    let model = try ONNXModel(
      bytes: ONNXFormatTests.tiny().serialize().model, file: "t", folder: nil)
    let batch = ImageBatch(
      shape: model.inputShape, pixels: [Float](repeating: 1, count: 16), labels: [0])
    // Row sums of w: (0 + … + 15) / 32 = 3.75 and (16 + … + 31) / 32 = 11.75.
    #expect(try model.logits(batch) == [4.25, 11.25])
  }

  @Test(arguments: [
    ([0x08, 0x80] as [UInt8], "offset 1: expected a complete varint"),
    ([0x08] + [UInt8](repeating: 0xFF, count: 10) + [0x01], "offset 1: expected a varint"),
    ([0x3A, 0x05, 0x01], "offset 1: expected a length of at most 1 bytes"),
    ([0x38, 0x01], "expected wire type 2 for graph (field 7), found wire type 0"),
    ([0x3B, 0x3C], "found wire type 3 (a group, not used by ONNX)"),
    ([0x0C], "found wire type 4 (a group"),
    ([0x0E], "found wire type 6"),
    ([0x12, 0x02, 0xC3, 0x28], "expected UTF-8 text for producer_name"),
    ([], "expected a graph (field 7), found none"),
  ])
  func rejectsMalformedProtobuf(bytes: [UInt8], message: String) throws {
    let description = try #require(ONNXFormatTests.failure(bytes))
    #expect(description.contains(message), "\(description)")
    #expect(description.hasPrefix("bad.onnx: "))
  }

  @Test func readsVarintsPackedAndUnpackedRepeatsAndSkipsUnknownFields() throws {
    var writer = ProtobufWriter()
    writer.int(1, -2)  // 10-byte two's complement
    writer.int(1, 300)
    writer.packedInts(1, [7, -1])
    writer.int(99, 5)  // unknown varint
    writer.data(98, [1, 2, 3])  // unknown bytes
    writer.float(97, 1.5)  // unknown fixed32
    writer.key(96, 1)
    writer.bytes += [UInt8](repeating: 0, count: 8)  // unknown fixed64
    #expect(writer.bytes.count == 1 + 10 + 3 + 1 + 1 + 11 + 2 + 2 + 4 + 2 + 5 + 2 + 8)
    var reader = ProtobufReader(bytes: writer.bytes, file: "t")
    var values: [Int64] = []
    while let field = try reader.nextField() {
      if field.number == 1 {
        try reader.readInt64s(field, "dims", into: &values)
      } else {
        try reader.skip(field)
      }
    }
    #expect(values == [-2, 300, 7, -1])
  }

  @Test func letsTheLastValueOfARepeatedScalarWin() throws {
    var b = ONNXFormatTests.tiny()
    b.opset = 5  // written first below, then overridden by a later opset_import
    var bytes = b.serialize().model
    var writer = ProtobufWriter()
    writer.message(8) {
      $0.string(1, "")
      $0.int(2, 13)
    }
    bytes += writer.bytes
    #expect(try ONNXModel(bytes: bytes, file: "t", folder: nil).opset == 13)
  }

  @Test func rejectsNestingBeyondTheDepthLimit() throws {
    var payload: [UInt8] = []
    for _ in 0..<100 {
      var writer = ProtobufWriter()
      writer.data(1, payload)
      payload = writer.bytes
    }
    var reader = ProtobufReader(bytes: payload, file: "t")
    func descend(_ reader: inout ProtobufReader) throws {
      while let field = try reader.nextField() {
        var inner = try reader.readMessage(field, "nested")
        try descend(&inner)
      }
    }
    #expect(throws: FormatError.self) { try descend(&reader) }
  }

  @Test func neverCrashesOnTruncatedFiles() {
    let bytes = ONNXFormatTests.tiny().serialize().model
    for length in 0..<bytes.count {
      #expect(throws: FormatError.self, "prefix \(length)") {
        try ONNXModel(bytes: Array(bytes[..<length]), file: "bad.onnx", folder: nil)
      }
    }
  }

  @Test func neverCrashesOnCorruptedBytes() throws {
    // Seeded single-byte corruptions of a graph using every window operator: each either
    // loads or throws.
    let bytes = ONNXOperatorTests.windows().serialize().model
    var generator = SeededGenerator(seed: 99)
    var outcomes: [String: Int] = ["loaded": 0, "threw a typed error": 0]
    for _ in 0..<400 {
      var corrupted = bytes
      let index = Int(generator.next() % UInt64(bytes.count))
      corrupted[index] = UInt8(truncatingIfNeeded: generator.next())
      do {
        _ = try ONNXModel(bytes: corrupted, file: "bad.onnx", folder: nil)
        outcomes["loaded", default: 0] += 1
      } catch is FormatError {
        outcomes["threw a typed error", default: 0] += 1
      } catch is ModelError {
        outcomes["threw a typed error", default: 0] += 1
      } catch {
        Issue.record("corruption at \(index) threw an untyped error: \(error)")
      }
    }
    // Every corruption was accounted for, and both outcomes occur (a byte inside a weight
    // still loads; one inside the graph's structure is refused).
    #expect(outcomes.values.reduce(0, +) == 400)
    #expect(outcomes["loaded", default: 0] > 0 && outcomes["threw a typed error", default: 0] > 0)
  }

  @Test func rejectsNodesOutOfTopologicalOrder() throws {
    var b = ONNXFormatTests.tiny()
    b.nodes.reverse()
    let message = try #require(ONNXFormatTests.failure(b.serialize().model))
    #expect(message.contains("field 'Gemm node 'fc''"))
    #expect(message.contains("expected nodes in topological order"))
    #expect(message.contains("input 'flat' computed by this or a later node"))
  }

  @Test func rejectsANodeConsumingItsOwnOutput() throws {
    var b = ONNXFormatTests.tiny()
    b.nodes.insert(
      ONNXBuilder.Node(
        op: "Relu", inputs: ["loop"], outputs: ["loop"], name: "self", attributes: []), at: 0)
    let message = try #require(ONNXFormatTests.failure(b.serialize().model))
    #expect(message.contains("Relu node 'self'"))
    #expect(message.contains("a cycle"))
  }

  @Test func rejectsAMissingInitializer() throws {
    var b = ONNXFormatTests.tiny()
    b.initializers.removeFirst()
    let message = try #require(ONNXFormatTests.failure(b.serialize().model))
    #expect(message.contains("input 'w' to be a graph input, an initializer or an earlier output"))
    #expect(message.contains("a missing initializer"))
  }

  @Test func namesTheOperatorNodeAndOpsetOfAnUnsupportedOperator() throws {
    var b = ONNXFormatTests.tiny(opset: 17)
    b.nodes.insert(
      ONNXBuilder.Node(op: "Selu", inputs: ["input"], outputs: ["e"], name: "act", attributes: []),
      at: 0)
    b.nodes[1].inputs = ["e"]
    let message = try #require(ONNXFormatTests.failure(b.serialize().model))
    #expect(message.contains("op 'Selu' in node 'act' at opset 17"), "\(message)")
  }

  @Test(arguments: ["../weights.data", "/tmp/weights.data", "a/../../weights.data"])
  func rejectsExternalDataOutsideTheModelFolder(location: String) throws {
    var b = ONNXFormatTests.tiny()
    b.storage = .external(location)
    let message = try #require(
      ONNXFormatTests.failure(b.serialize().model, folder: FileManager.default.temporaryDirectory))
    #expect(message.contains("expected an external data path relative to the model's folder"))
    #expect(message.contains("'\(location)'"))
  }

  @Test func rejectsExternalDataPastTheEndOfItsFile() throws {
    var b = ONNXFormatTests.tiny()
    b.storage = .external("tiny.data")
    let (model, external) = b.serialize()
    let scratch = try ScratchFolder("bulwark-onnx")
    let folder = scratch.url
    try Data(external.dropLast(4)).write(to: folder.appendingPathComponent("tiny.data"))
    let message = try #require(ONNXFormatTests.failure(model, folder: folder))
    #expect(message.contains("expected offset + length within tiny.data (132 bytes)"), "\(message)")
  }

  @Test func rejectsSegmentsSparseInitializersAndGraphAttributes() throws {
    var segment = ProtobufWriter()
    segment.message(3) { $0.int(1, 0) }
    var tensor = ProtobufWriter()
    tensor.message(7) { graph in
      graph.message(5) { t in
        t.int(1, 1)
        t.int(2, 1)
        t.bytes += segment.bytes
      }
    }
    #expect(ONNXFormatTests.failure(tensor.bytes)?.contains("found a segment") == true)

    var sparse = ProtobufWriter()
    sparse.message(7) { $0.message(15) { $0.int(3, 1) } }
    #expect(ONNXFormatTests.failure(sparse.bytes)?.contains("found a sparse initializer") == true)

    var graphAttribute = ProtobufWriter()
    graphAttribute.message(7) { graph in
      graph.message(1) { node in
        node.string(4, "If")
        node.message(5) { a in
          a.string(1, "then_branch")
          a.message(6) { _ in }
        }
      }
    }
    #expect(ONNXFormatTests.failure(graphAttribute.bytes)?.contains("no graph attributes") == true)
  }

  @Test func rejectsARawDataSizeThatDoesNotMatchTheDims() throws {
    var writer = ProtobufWriter()
    writer.message(7) { graph in
      graph.message(5) { t in
        t.int(1, 3)
        t.int(2, 1)
        t.string(8, "w")
        t.data(9, [0, 0, 0, 0])
      }
    }
    let message = try #require(ONNXFormatTests.failure(writer.bytes))
    #expect(
      message.contains("field 'initializer #0 'w'': expected 12 bytes of data (3 x 4), found 4"))
  }

  @Test func rejectsALocalFunctionCall() throws {
    var b = ONNXFormatTests.tiny()
    b.nodes[0].op = "MyBlock"
    var bytes = b.serialize().model
    var writer = ProtobufWriter()
    writer.message(25) { $0.string(1, "MyBlock") }
    bytes += writer.bytes
    #expect(ONNXFormatTests.failure(bytes)?.contains("a call of local function 'MyBlock'") == true)
  }

  @Test func rejectsAnInputThatIsNotAnImageBatch() throws {
    var b = ONNXFormatTests.tiny()
    b.input = (1, 4, 0)
    let message = try #require(ONNXFormatTests.failure(b.serialize().model))
    #expect(message.contains("expected float32 images of shape [N, C, H, W]"))
  }
}
