import BulwarkData
import BulwarkModel
import Foundation

/// `bulwark inspect MODEL`: what a model file holds.
struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "inspect",
    abstract: "Show a model's graph or layers, tensor shapes and parameter count.",
    discussion: """
      For an .onnx file: opset, producer, input and output, and every node with its operator, \
      inputs and outputs with shapes (N is the batch). For a .safetensors file: the \
      architecture's layers and every tensor's name and shape.
      """,
    arguments: [modelArgument.definition, .json])

  static let modelArgument = Positional("MODEL", help: "The model file (.onnx or .safetensors).")

  var model: String
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    model = arguments.value(Self.modelArgument) ?? ""
    json = arguments[.json]
  }

  /// The report, as `--json` prints it.
  struct Report: Encodable {
    struct Tensor: Encodable {
      var name: String
      var shape: [Int]
    }
    var model: String
    var format: String
    var input: ImageShape
    var classes: Int
    var parameterCount: Int
    var opset: Int?
    var producer: String?
    var endsInSoftmax: Bool?
    var nodes: [ONNXNodeSummary]?
    /// Each layer as its architecture JSON.
    var layers: [String]?
    var tensors: [Tensor]?
  }

  func run(console: Console) throws {
    let url = URL(fileURLWithPath: model)
    let report: Report
    switch url.pathExtension.lowercased() {
    case "onnx":
      let onnx = try ONNXModel(contentsOf: url, options: ComputeOptions(threads: 1))
      if !json {
        console.print(onnx.summary)
        return
      }
      report = Report(
        model: model, format: "onnx", input: onnx.inputShape, classes: onnx.classCount,
        parameterCount: onnx.parameterCount, opset: onnx.opset, producer: onnx.producer,
        endsInSoftmax: onnx.endsInSoftmax, nodes: onnx.nodes)
    default:
      // `loadClassifier` rejects other extensions with a clear error.
      guard let network = try loadClassifier(contentsOf: url) as? Network else { return }
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.sortedKeys]
      let layers = try network.architecture.layers.map {
        String(decoding: try encoder.encode($0), as: UTF8.self)
      }
      report = Report(
        model: model, format: "safetensors", input: network.inputShape,
        classes: network.classCount, parameterCount: network.parameterCount, layers: layers,
        tensors: network.parameterShapes.map { Report.Tensor(name: $0.name, shape: $0.shape) })
    }
    if json {
      try console.printJSON(report)
      return
    }
    console.print("Bulwark network (safetensors)")
    console.print(
      "input: \(report.input) (height x width x channels), classes: \(report.classes)")
    console.print("layers:")
    for (index, layer) in (report.layers ?? []).enumerated() {
      console.print("  \(index) \(layer)")
    }
    console.print("tensors:")
    for tensor in report.tensors ?? [] {
      console.print("  \(tensor.name) [\(tensor.shape.map(String.init).joined(separator: " x "))]")
    }
    console.print("parameters: \(report.parameterCount)")
  }
}
