extension ONNXModel: CustomStringConvertible {
  /// A readable description of the model: producer, opset, input and output, every node with
  /// its operator, inputs and outputs with shapes, and the parameter count.
  public var summary: String {
    var lines = [
      "ONNX model (opset \(opset)\(producer.isEmpty ? "" : ", producer \(producer)"))",
      "input: N x \(inputShape.channels) x \(inputShape.height) x \(inputShape.width) float32 "
        + "(images \(inputShape.height)x\(inputShape.width)x\(inputShape.channels), NHWC at the API)",
      "output: N x \(classCount)"
        + (endsInSoftmax ? " (logits taken before the final softmax)" : ""),
      "nodes: \(nodes.count)",
    ]
    func list(_ values: [ONNXNodeSummary.Value]) -> String {
      values.map { value in
        value.name.isEmpty
          ? "-" : "\(value.name) [\(value.shape)]\(value.isConstant ? " const" : "")"
      }.joined(separator: ", ")
    }
    for (index, node) in nodes.enumerated() {
      let name = node.name.isEmpty ? "" : " '\(node.name)'"
      lines.append("  \(index) \(node.op)\(name): \(list(node.inputs)) -> \(list(node.outputs))")
    }
    lines.append("parameters: \(parameterCount)")
    return lines.joined(separator: "\n")
  }

  /// The same as ``summary``.
  public var description: String { summary }
}
