import BulwarkData

@testable import BulwarkModel

/// Writes Bulwark networks as ONNX graphs the way PyTorch's exporters do, for tests.
enum ONNXExport {
  static func parameters(_ network: Network) -> [String: (shape: [Int], values: [Float])] {
    var result: [String: (shape: [Int], values: [Float])] = [:]
    for (name, shape, values) in network.namedParameters() { result[name] = (shape, values) }
    return result
  }

  /// Adds `name` from the network as an initializer.
  static func add(
    _ name: String, _ p: [String: (shape: [Int], values: [Float])], to b: inout ONNXBuilder
  ) {
    if let tensor = p[name] { b.initializer(name, dims: tensor.shape, floats: tensor.values) }
  }

  /// LeNet-5 as `torch.onnx.export(..., dynamo=True)` writes it: opset 18, weights in
  /// `model.onnx.data`, every attribute spelled out, `view(-1, 400)` as a Reshape to a
  /// constant with the export batch size (2) baked in, fc1 and fc3 as Gemm (transB = 1), fc2
  /// as MatMul with a transposed weight plus Add.
  static func lenetDynamo(_ network: Network) -> ONNXBuilder {
    let p = parameters(network)
    var b = ONNXBuilder(opset: 18)
    b.inputName = "x"
    b.storage = .external("model.onnx.data")
    for name in [
      "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
      "fc1.bias", "fc2.bias", "fc3.weight", "fc3.bias",
    ] { add(name, p, to: &b) }
    if let fc2 = p["fc2.weight"] {
      var transposed = [Float](repeating: 0, count: 120 * 84)
      for row in 0..<84 {
        for column in 0..<120 { transposed[column * 84 + row] = fc2.values[row * 120 + column] }
      }
      b.initializer("val_fc2_t", dims: [120, 84], floats: transposed)
    }
    b.initializer("val_shape", dims: [2], ints: [2, 400])
    let convAttributes: (Int64) -> [(String, ONNXBuilder.Attribute)] = { pad in
      [
        ("group", .int(1)), ("pads", .ints([pad, pad, pad, pad])), ("auto_pad", .string("NOTSET")),
        ("strides", .ints([1, 1])), ("dilations", .ints([1, 1])),
      ]
    }
    let pool: [(String, ONNXBuilder.Attribute)] = [
      ("kernel_shape", .ints([2, 2])), ("strides", .ints([2, 2])), ("pads", .ints([0, 0, 0, 0])),
      ("dilations", .ints([1, 1])), ("ceil_mode", .int(0)), ("auto_pad", .string("NOTSET")),
    ]
    b.node(
      "Conv", ["x", "conv1.weight", "conv1.bias"], ["conv2d"], name: "node_conv2d",
      convAttributes(2))
    b.node("Relu", ["conv2d"], ["relu"], name: "node_relu")
    b.node("MaxPool", ["relu"], ["max_pool2d"], name: "node_max_pool2d", pool)
    b.node(
      "Conv", ["max_pool2d", "conv2.weight", "conv2.bias"], ["conv2d_1"], name: "node_conv2d_1",
      convAttributes(0))
    b.node("Relu", ["conv2d_1"], ["relu_1"], name: "node_relu_1")
    b.node("MaxPool", ["relu_1"], ["max_pool2d_1"], name: "node_max_pool2d_1", pool)
    b.node(
      "Reshape", ["max_pool2d_1", "val_shape"], ["view"], name: "node_view",
      [("allowzero", .int(1))])
    b.node(
      "Gemm", ["view", "fc1.weight", "fc1.bias"], ["linear"], name: "node_linear",
      [("transB", .int(1))])
    b.node("Relu", ["linear"], ["relu_2"], name: "node_relu_2")
    b.node("MatMul", ["relu_2", "val_fc2_t"], ["matmul"], name: "node_matmul")
    b.node("Add", ["matmul", "fc2.bias"], ["linear_1"], name: "node_linear_1")
    b.node("Relu", ["linear_1"], ["relu_3"], name: "node_relu_3")
    b.node(
      "Gemm", ["relu_3", "fc3.weight", "fc3.bias"], ["output"], name: "node_linear_2",
      [("transB", .int(1))])
    return b
  }

  /// LeNet-5 as the TorchScript exporter (`dynamo=False`, opset 11) writes it: initializers
  /// also listed as graph inputs, `x.view(x.size(0), -1)` as Shape → Gather → Unsqueeze and a
  /// Constant -1 → Concat → Reshape, every Linear as Gemm with transB = 1, and value names like
  /// `onnx::Conv_...`.
  static func lenetTorchScript(_ network: Network, endsInLogSoftmax: Bool = false) -> ONNXBuilder {
    let p = parameters(network)
    var b = ONNXBuilder(opset: 11)
    b.producerVersion = "1.13.1"
    b.inputName = "input.1"
    b.initializersAsInputs = true
    for (name, _, _) in network.namedParameters() { add(name, p, to: &b) }
    let conv: (Int64) -> [(String, ONNXBuilder.Attribute)] = { pad in
      [
        ("dilations", .ints([1, 1])), ("group", .int(1)), ("kernel_shape", .ints([5, 5])),
        ("pads", .ints([pad, pad, pad, pad])), ("strides", .ints([1, 1])),
      ]
    }
    let pool: [(String, ONNXBuilder.Attribute)] = [
      ("ceil_mode", .int(0)), ("kernel_shape", .ints([2, 2])), ("pads", .ints([0, 0, 0, 0])),
      ("strides", .ints([2, 2])),
    ]
    let gemm: [(String, ONNXBuilder.Attribute)] = [
      ("alpha", .float(1)), ("beta", .float(1)), ("transB", .int(1)),
    ]
    b.node("Conv", ["input.1", "conv1.weight", "conv1.bias"], ["input"], name: "Conv_0", conv(2))
    b.node("Relu", ["input"], ["onnx::MaxPool_12"], name: "Relu_1")
    b.node("MaxPool", ["onnx::MaxPool_12"], ["input.4"], name: "MaxPool_2", pool)
    b.node("Conv", ["input.4", "conv2.weight", "conv2.bias"], ["input.8"], name: "Conv_3", conv(0))
    b.node("Relu", ["input.8"], ["onnx::MaxPool_15"], name: "Relu_4")
    b.node("MaxPool", ["onnx::MaxPool_15"], ["onnx::Shape_16"], name: "MaxPool_5", pool)
    b.node("Shape", ["onnx::Shape_16"], ["onnx::Gather_17"], name: "Shape_6")
    b.node(
      "Constant", [], ["onnx::Gather_18"], name: "Constant_7",
      [("value", .tensor(ONNXBuilder.Tensor(name: "", dims: [], floats: nil, ints: [0])))])
    b.node(
      "Gather", ["onnx::Gather_17", "onnx::Gather_18"], ["onnx::Unsqueeze_19"], name: "Gather_8",
      [("axis", .int(0))])
    b.node(
      "Unsqueeze", ["onnx::Unsqueeze_19"], ["onnx::Concat_21"], name: "Unsqueeze_9",
      [("axes", .ints([0]))])
    b.node(
      "Constant", [], ["onnx::Concat_22"], name: "Constant_10",
      [("value", .tensor(ONNXBuilder.Tensor(name: "", dims: [1], floats: nil, ints: [-1])))])
    b.node(
      "Concat", ["onnx::Concat_21", "onnx::Concat_22"], ["onnx::Reshape_23"], name: "Concat_11",
      [("axis", .int(0))])
    b.node(
      "Reshape", ["onnx::Shape_16", "onnx::Reshape_23"], ["onnx::Gemm_24"], name: "Reshape_12")
    b.node(
      "Gemm", ["onnx::Gemm_24", "fc1.weight", "fc1.bias"], ["input.12"], name: "Gemm_13", gemm)
    b.node("Relu", ["input.12"], ["onnx::Gemm_26"], name: "Relu_14")
    b.node(
      "Gemm", ["onnx::Gemm_26", "fc2.weight", "fc2.bias"], ["input.16"], name: "Gemm_15", gemm)
    b.node("Relu", ["input.16"], ["onnx::Gemm_28"], name: "Relu_16")
    if endsInLogSoftmax {
      b.node(
        "Gemm", ["onnx::Gemm_28", "fc3.weight", "fc3.bias"], ["logits"], name: "Gemm_17", gemm)
      b.node("LogSoftmax", ["logits"], ["output"], name: "LogSoftmax_18", [("axis", .int(1))])
    } else {
      b.node(
        "Gemm", ["onnx::Gemm_28", "fc3.weight", "fc3.bias"], ["output"], name: "Gemm_17", gemm)
    }
    return b
  }

  /// The small RGB CNN of ``ONNXModelTests`` (3x16x16): conv1 + bn1 + relu, a residual block
  /// (conv2 + bn2, Add with its input, relu), max pool 2, global average pool, flatten, fc.
  /// Weights come from a network with the same tensors (see `rgbNetwork`), plus `conv2` and
  /// `bn2` given here.
  static func residualCNN(
    _ network: Network, conv2: [Float], bn2: [[Float]], opset: Int = 13
  ) -> ONNXBuilder {
    let p = parameters(network)
    var b = ONNXBuilder(opset: opset)
    b.input = (3, 16, 16)
    b.storage = .floatData
    for name in [
      "conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean",
      "bn1.running_var", "fc.weight", "fc.bias",
    ] { add(name, p, to: &b) }
    b.initializer("conv2.weight", dims: [8, 8, 3, 3], floats: conv2)
    for (index, suffix) in ["weight", "bias", "running_mean", "running_var"].enumerated() {
      b.initializer("bn2.\(suffix)", dims: [8], floats: bn2[index])
    }
    let conv: [(String, ONNXBuilder.Attribute)] = [
      ("kernel_shape", .ints([3, 3])), ("pads", .ints([1, 1, 1, 1])),
    ]
    let bn: [(String, ONNXBuilder.Attribute)] = [
      ("epsilon", .float(1e-5)), ("momentum", .float(0.9)),
    ]
    b.node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], conv)
    b.node(
      "BatchNormalization",
      ["c1", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"], ["b1"], bn)
    b.node("Relu", ["b1"], ["h"])
    b.node("Conv", ["h", "conv2.weight", ""], ["c2"], conv)
    b.node(
      "BatchNormalization",
      ["c2", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var"], ["b2"], bn)
    b.node("Add", ["b2", "h"], ["sum"])
    b.node("Relu", ["sum"], ["r"])
    b.node(
      "MaxPool", ["r"], ["pooled"], [("kernel_shape", .ints([2, 2])), ("strides", .ints([2, 2]))])
    b.node("GlobalAveragePool", ["pooled"], ["gap"])
    b.node("Flatten", ["gap"], ["flat"], [("axis", .int(1))])
    b.node("Gemm", ["flat", "fc.weight", "fc.bias"], ["output"], [("transB", .int(1))])
    return b
  }

  /// The network the residual CNN equals when its residual branch is zero.
  static func rgbNetwork(seed: UInt64) throws -> Network {
    try Fixtures.network(
      input: ImageShape(height: 16, width: 16, channels: 3), classes: 10,
      layers: [
        .conv2d("conv1", 3, 8, kernel: 3, padding: 1), .batchNorm2d("bn1", 8), .relu,
        .maxPool2d(2), .globalAvgPool, .flatten, .linear("fc", 8, 10),
      ], seed: seed)
  }
}
