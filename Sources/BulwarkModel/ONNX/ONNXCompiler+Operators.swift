/// The operators: what each compiles to, following the highest version <= the model's opset.
extension ONNXCompiler {
  static let supportedOperators = [
    "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "Conv",
    "ConvTranspose",
    "Div", "Dropout", "Elu", "Erf", "Flatten", "Gather", "Gelu", "Gemm", "GlobalAveragePool",
    "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "LayerNormalization", "LeakyRelu",
    "LogSoftmax", "MatMul",
    "MaxPool", "Mul", "Pad", "Pow", "ReduceMean", "Relu", "Reshape", "Resize", "Shape", "Sigmoid",
    "Slice",
    "Softmax", "Split", "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze", "Upsample",
  ]

  mutating func compileNode(_ node: ONNXNode, label: String) throws {
    let name = try output(node, label: label)
    switch node.opType {
    case "Conv": try compileConv(node, label: label, name: name)
    case "ConvTranspose": try compileConvTranspose(node, label: label, name: name)
    case "Resize", "Upsample": try compileResize(node, label: label, name: name)
    case "MaxPool", "AveragePool": try compilePool(node, label: label, name: name)
    case "GlobalAveragePool", "GlobalMaxPool":
      let x = try runtimeInput(node, 0, label: label)
      guard x.shape.count == 3 else {
        throw error(label, "a [N, C, H, W] input", "rank \(x.shape.count + 1)")
      }
      try emitGlobalPool(x, maximum: node.opType == "GlobalMaxPool", keepDims: true, name: name)
    case "ReduceMean": try compileReduceMean(node, label: label, name: name)
    case "Relu":
      if case .constant(let tensor)? = input(node, 0) {
        values[name] = .constant(
          ONNXTensor(dims: tensor.dims, floats: tensor.floats.map { max($0, 0) }))
        return
      }
      let x = try runtimeInput(node, 0, label: label)
      // Folded into the convolution before it when that convolution's output feeds nothing else.
      if foldsIntoConvolutions, let producer = producers[x.slot],
        useCounts[node.inputs[0]] == 1, !graphOutputs.contains(node.inputs[0]),
        case .conv(var conv, let weight, let bias) = steps[producer].operation, !conv.rectifies
      {
        conv.rectifies = true
        steps[producer].operation = .conv(conv, weight: weight, bias: bias)
        values[name] = .runtime(slot: x.slot, shape: x.shape)
        return
      }
      let size = x.shape.reduce(1, *)
      try emit(.relu, inputs: [(x.slot, size)], shape: x.shape, name: name)
    case "Clip", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "LeakyRelu", "Elu", "Gelu", "Erf",
      "Pow", "Sqrt":
      let activation = try self.activation(node, label: label)
      if case .constant(let tensor)? = input(node, 0) {
        values[name] = .constant(
          ONNXTensor(dims: tensor.dims, floats: tensor.floats.map(activation.value)))
        return
      }
      let x = try runtimeInput(node, 0, label: label)
      try emit(
        .activation(activation), inputs: [(x.slot, x.shape.reduce(1, *))], shape: x.shape,
        name: name)
    case "Identity", "Dropout":
      guard let value = input(node, 0) else { throw error(label, "input 0", "none") }
      values[name] = value
    case "Flatten": try compileFlatten(node, label: label, name: name)
    case "Reshape": try compileReshape(node, label: label, name: name)
    case "Gemm": try compileGemm(node, label: label, name: name)
    case "MatMul": try compileMatMul(node, label: label, name: name)
    case "Add", "Sub", "Mul", "Div": try compileBinary(node, label: label, name: name)
    case "BatchNormalization": try compileBatchNorm(node, label: label, name: name)
    case "LayerNormalization": try compileLayerNorm(node, label: label, name: name)
    case "Softmax", "LogSoftmax":
      let x = try runtimeInput(node, 0, label: label)
      let rank = x.shape.count + 1
      let defaultAxis = opset >= 13 ? -1 : 1
      let axis = try axis(
        try int(node, "axis", default: defaultAxis, label: label), rank: rank, label: label)
      // Before opset 13 the input is flattened to 2-D from the axis on; from 13, one axis.
      let groupSize =
        opset >= 13
        ? (axis == rank - 1 ? x.shape.last ?? 1 : nil)
        : (axis >= 1 ? x.shape[(axis - 1)...].reduce(1, *) : nil)
      guard let groupSize else {
        throw error(
          label, "a softmax over the last axis (or, before opset 13, axes within the images)",
          "axis \(axis) of rank \(rank)")
      }
      // The graph's final softmax: the classifier's logits are its input.
      if graphOutputs.contains(name), useCounts[name] == 1, groupSize == x.shape.reduce(1, *) {
        endsInSoftmax = true
        values[name] = .runtime(slot: x.slot, shape: x.shape)
        return
      }
      try emit(
        .softmax(groupSize: groupSize, logarithm: node.opType == "LogSoftmax"),
        inputs: [(x.slot, x.shape.reduce(1, *))], shape: x.shape, name: name)
    case "Constant": values[name] = .constant(try constantValue(node, label: label))
    case "Shape", "Unsqueeze", "Squeeze", "Cast":
      try compilePlumbing(node, label: label, name: name)
    case "Concat": try compileConcat(node, label: label, name: name)
    case "Slice": try compileSlice(node, label: label, name: name)
    case "Gather": try compileGather(node, label: label, name: name)
    case "Transpose": try compileTranspose(node, label: label, name: name)
    case "Split": try compileSplit(node, label: label)
    case "Pad": try compilePad(node, label: label, name: name)
    default:
      throw error(
        label,
        "an operator Bulwark supports at opset \(opset) ("
          + ONNXCompiler.supportedOperators.joined(separator: ", ") + ")",
        "op '\(node.opType)' in node '\(node.name)' at opset \(opset)")
    }
  }

  /// An elementwise activation node's function, its attributes (and Clip's bounds) read as the
  /// model's opset defines them.
  func activation(_ node: ONNXNode, label: String) throws -> ONNXActivation {
    switch node.opType {
    case "Clip":
      // Before opset 11 the bounds are attributes; from 11 on, optional constant inputs.
      guard opset >= 11 else {
        return .clip(
          lower: try float(node, "min", default: -.greatestFiniteMagnitude, label: label),
          upper: try float(node, "max", default: .greatestFiniteMagnitude, label: label))
      }
      func bound(_ index: Int, _ otherwise: Float) throws -> Float {
        guard let tensor = try constantInput(node, index, label: label) else { return otherwise }
        guard tensor.floats.count == 1 else {
          throw error(label, "input \(index) to be one value", "\(tensor.floats.count) values")
        }
        return tensor.floats[0]
      }
      return .clip(
        lower: try bound(1, -.greatestFiniteMagnitude),
        upper: try bound(2, .greatestFiniteMagnitude))
    case "Sigmoid": return .sigmoid
    case "HardSigmoid":
      return .hardSigmoid(
        alpha: try float(node, "alpha", default: 0.2, label: label),
        beta: try float(node, "beta", default: 0.5, label: label))
    case "HardSwish": return .hardSwish
    case "Tanh": return .tanh
    case "LeakyRelu":
      return .leakyRelu(alpha: try float(node, "alpha", default: 0.01, label: label))
    case "Elu": return .elu(alpha: try float(node, "alpha", default: 1, label: label))
    case "Gelu":
      switch try string(node, "approximate", default: "none", label: label) {
      case "none": return .gelu(tanhApproximation: false)
      case "tanh": return .gelu(tanhApproximation: true)
      case let other:
        throw error(label, "approximate 'none' or 'tanh'", "'\(other)'")
      }
    case "Pow":
      guard let exponent = try constantInput(node, 1, label: label), exponent.count == 1 else {
        throw error(label, "a constant exponent (input 1, one value)", "none or several")
      }
      return .power(exponent.floats[0])
    case "Sqrt": return .squareRoot
    default: return .erf
    }
  }

  /// Output size and leading padding of one spatial axis.
  func window(
    size: Int, kernel: Int, stride: Int, dilation: Int, pads: (Int, Int), autoPad: String,
    ceilMode: Bool, label: String
  ) throws -> (out: Int, before: Int, after: Int) {
    let limit = 1 << 20
    guard kernel > 0, stride > 0, dilation > 0, kernel <= limit, stride <= limit,
      dilation <= limit, pads.0 <= limit, pads.1 <= limit
    else {
      throw error(
        label, "kernel, strides and dilations in 1...\(limit), pads up to \(limit)",
        "\(kernel), \(stride), \(dilation)")
    }
    let extent = dilation * (kernel - 1) + 1
    switch autoPad {
    case "SAME_UPPER", "SAME_LOWER":
      let out = (size + stride - 1) / stride
      let total = max(0, (out - 1) * stride + extent - size)
      let small = total / 2
      return autoPad == "SAME_UPPER"
        ? (out, small, total - small) : (out, total - small, small)
    case "VALID":
      guard size >= extent else {
        throw error(label, "an input at least as large as the window", "\(size) < \(extent)")
      }
      return ((size - extent) / stride + 1, 0, 0)
    case "NOTSET", "":
      guard pads.0 >= 0, pads.1 >= 0 else {
        throw error(label, "non-negative pads", "\(pads)")
      }
      let span = size + pads.0 + pads.1 - extent
      guard span >= 0 else {
        throw error(label, "a padded input at least as large as the window", "\(span + extent)")
      }
      var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
      // A window starting in the right padding is dropped.
      if ceilMode && (out - 1) * stride >= size + pads.0 { out -= 1 }
      return (out, pads.0, pads.1)
    default:
      throw error(label, "auto_pad NOTSET, SAME_UPPER, SAME_LOWER or VALID", autoPad)
    }
  }

  /// Kernel, strides, dilations, pads and output sizes of a 2-D window operator.
  func spatial(
    _ node: ONNXNode, kernel: [Int], size: [Int], ceilMode: Bool, label: String
  ) throws -> (out: [Int], before: [Int], after: [Int], strides: [Int], dilations: [Int]) {
    let strides = try ints(node, "strides", label: label) ?? [1, 1]
    let dilations = try ints(node, "dilations", label: label) ?? [1, 1]
    let pads = try ints(node, "pads", label: label) ?? [0, 0, 0, 0]
    guard kernel.count == 2, strides.count == 2, dilations.count == 2, pads.count == 4 else {
      throw error(
        label, "2-D kernel_shape, strides, dilations and 4 pads",
        "\(kernel), \(strides), \(dilations), \(pads)")
    }
    let autoPad = try string(node, "auto_pad", default: "NOTSET", label: label)
    var result = (
      out: [Int](), before: [Int](), after: [Int](), strides: strides, dilations: dilations
    )
    for axis in 0..<2 {
      let w = try window(
        size: size[axis], kernel: kernel[axis], stride: strides[axis], dilation: dilations[axis],
        pads: (pads[axis], pads[axis + 2]), autoPad: autoPad, ceilMode: ceilMode, label: label)
      result.out.append(w.out)
      result.before.append(w.before)
      result.after.append(w.after)
    }
    return result
  }

  /// A convolution's bias (input 2): one value per output channel, zeros when absent.
  func bias(_ node: ONNXNode, channels: Int, label: String) throws -> [Float] {
    guard let b = try constantInput(node, 2, label: label) else {
      return [Float](repeating: 0, count: channels)
    }
    guard b.count == channels else {
      throw error(label, "a bias of \(channels) values", "dims \(b.dims)")
    }
    return b.floats
  }

  mutating func compileConv(_ node: ONNXNode, label: String, name: String) throws {
    let x = try runtimeInput(node, 0, label: label)
    let w = try requiredConstant(node, 1, label: label)
    let group = try int(node, "group", default: 1, label: label)
    guard x.shape.count == 3, w.dims.count == 4, group > 0 else {
      throw error(
        label, "a 2-D convolution: input [N, C, H, W], weight [M, C/group, kH, kW]",
        "input rank \(x.shape.count + 1), weight dims \(w.dims), group \(group)")
    }
    let (channels, outChannels) = (x.shape[0], w.dims[0])
    guard channels == w.dims[1] * group, outChannels % group == 0 else {
      throw error(
        label, "weight [M, C/group, kH, kW] with C = \(channels), group = \(group)",
        "weight dims \(w.dims)")
    }
    let kernel = try ints(node, "kernel_shape", label: label) ?? [w.dims[2], w.dims[3]]
    guard kernel == [w.dims[2], w.dims[3]] else {
      throw error(
        label, "kernel_shape equal to the weight's \([w.dims[2], w.dims[3]])", "\(kernel)")
    }
    let s = try spatial(
      node, kernel: kernel, size: [x.shape[1], x.shape[2]], ceilMode: false, label: label)
    let bias = try bias(node, channels: outChannels, label: label)
    let conv = Convolution(
      inChannels: channels, inHeight: x.shape[1], inWidth: x.shape[2], outChannels: outChannels,
      outHeight: s.out[0], outWidth: s.out[1], kernelHeight: kernel[0], kernelWidth: kernel[1],
      strideY: s.strides[0], strideX: s.strides[1], padTop: s.before[0], padLeft: s.before[1],
      dilationY: s.dilations[0], dilationX: s.dilations[1], groups: group)
    try emit(
      .conv(conv, weight: w.floats, bias: bias), inputs: [(x.slot, x.shape.reduce(1, *))],
      shape: [outChannels, s.out[0], s.out[1]], name: name)
  }

  /// ConvTranspose (2-D): output size `stride (in - 1) + output_padding + dilation (k - 1) + 1`
  /// less the pads, or `output_shape` with the pads it implies (split as `auto_pad` says).
  /// The largest stride, dilation or pad ConvTranspose takes (sizes stay far from overflow).
  static let maximumWindow = 1 << 16

  mutating func compileConvTranspose(_ node: ONNXNode, label: String, name: String) throws {
    let x = try runtimeInput(node, 0, label: label)
    let w = try requiredConstant(node, 1, label: label)
    let group = try int(node, "group", default: 1, label: label)
    guard x.shape.count == 3, w.dims.count == 4, group > 0, x.shape[0] == w.dims[0],
      w.dims[0] % group == 0
    else {
      throw error(
        label, "a 2-D transposed convolution: input [N, C, H, W], weight [C, M/group, kH, kW]",
        "input per-image shape \(x.shape), weight dims \(w.dims), group \(group)")
    }
    let outChannels = w.dims[1] * group
    let kernel = try ints(node, "kernel_shape", label: label) ?? [w.dims[2], w.dims[3]]
    let strides = try ints(node, "strides", label: label) ?? [1, 1]
    let dilations = try ints(node, "dilations", label: label) ?? [1, 1]
    let pads = try ints(node, "pads", label: label) ?? [0, 0, 0, 0]
    let outputPadding = try ints(node, "output_padding", label: label) ?? [0, 0]
    let outputShape = try ints(node, "output_shape", label: label)
    let autoPad = try string(node, "auto_pad", default: "NOTSET", label: label)
    guard kernel == [w.dims[2], w.dims[3]], strides.count == 2, dilations.count == 2,
      pads.count == 4, outputPadding.count == 2,
      strides.allSatisfy({ (1...ONNXCompiler.maximumWindow).contains($0) }),
      dilations.allSatisfy({ (1...ONNXCompiler.maximumWindow).contains($0) }),
      pads.allSatisfy({ (0...ONNXCompiler.maximumWindow).contains($0) })
    else {
      throw error(
        label,
        "kernel_shape \([w.dims[2], w.dims[3]]), 2 strides and dilations and 4 pads in "
          + "1...\(ONNXCompiler.maximumWindow) (pads from 0)",
        "\(kernel), \(strides), \(dilations), \(pads)")
    }
    var out: [Int] = []
    var before: [Int] = []
    for axis in 0..<2 {
      let span =
        strides[axis] * (x.shape[axis + 1] - 1) + outputPadding[axis]
        + dilations[axis] * (kernel[axis] - 1) + 1
      guard outputPadding[axis] >= 0, outputPadding[axis] < max(strides[axis], dilations[axis])
      else {
        throw error(label, "output_padding below the stride or dilation", "\(outputPadding)")
      }
      if let outputShape {
        guard outputShape.count >= 2, span >= outputShape[outputShape.count - 2 + axis] else {
          throw error(label, "an output_shape the input can reach", "\(outputShape)")
        }
        let size = outputShape[outputShape.count - 2 + axis]
        let total = span - size
        out.append(size)
        before.append(autoPad == "SAME_UPPER" ? total / 2 : total - total / 2)
      } else {
        guard autoPad == "NOTSET" else {
          throw error(label, "auto_pad NOTSET without output_shape", "'\(autoPad)'")
        }
        out.append(span - pads[axis] - pads[axis + 2])
        before.append(pads[axis])
      }
    }
    _ = try size(of: [outChannels] + out, label: label)
    guard out.allSatisfy({ $0 > 0 }) else {
      throw error(label, "pads that leave an output", "output \(out)")
    }
    let bias = try bias(node, channels: outChannels, label: label)
    // The convolution from the output back to the input, whose input gradient this is.
    let conv = Convolution(
      inChannels: outChannels, inHeight: out[0], inWidth: out[1], outChannels: x.shape[0],
      outHeight: x.shape[1], outWidth: x.shape[2], kernelHeight: kernel[0],
      kernelWidth: kernel[1], strideY: strides[0], strideX: strides[1], padTop: before[0],
      padLeft: before[1], dilationY: dilations[0], dilationX: dilations[1], groups: group)
    try emit(
      .transposedConv(conv, weight: w.floats, bias: bias),
      inputs: [(x.slot, x.shape.reduce(1, *))], shape: [outChannels, out[0], out[1]], name: name)
  }

  mutating func compilePool(_ node: ONNXNode, label: String, name: String) throws {
    let x = try runtimeInput(node, 0, label: label)
    guard x.shape.count == 3 else {
      throw error(label, "a [N, C, H, W] input", "rank \(x.shape.count + 1)")
    }
    if node.outputs.count > 1, !node.outputs[1].isEmpty {
      throw error(label, "no Indices output", "output '\(node.outputs[1])'")
    }
    guard let kernel = try ints(node, "kernel_shape", label: label) else {
      throw error(label, "a kernel_shape attribute", "none")
    }
    let ceilMode = try flag(node, "ceil_mode", default: false, label: label)
    let s = try spatial(
      node, kernel: kernel, size: [x.shape[1], x.shape[2]], ceilMode: ceilMode, label: label)
    let pool = Pooling(
      planes: x.shape[0], inHeight: x.shape[1], inWidth: x.shape[2], outHeight: s.out[0],
      outWidth: s.out[1], kernelHeight: kernel[0], kernelWidth: kernel[1],
      strideY: s.strides[0], strideX: s.strides[1],
      pads: [s.before[0], s.before[1], s.after[0], s.after[1]], dilationY: s.dilations[0],
      dilationX: s.dilations[1],
      countIncludePad: try flag(node, "count_include_pad", default: false, label: label))
    try emit(
      node.opType == "MaxPool" ? .maxPool(pool) : .averagePool(pool),
      inputs: [(x.slot, x.shape.reduce(1, *))], shape: [x.shape[0], s.out[0], s.out[1]],
      name: name)
  }

  mutating func emitGlobalPool(
    _ x: (slot: Int, shape: [Int]), maximum: Bool, keepDims: Bool, name: String
  ) throws {
    let (height, width) = (x.shape[1], x.shape[2])
    let pool = Pooling(
      planes: x.shape[0], inHeight: height, inWidth: width, outHeight: 1, outWidth: 1,
      kernelHeight: height, kernelWidth: width, strideY: 1, strideX: 1, pads: [0, 0, 0, 0],
      dilationY: 1, dilationX: 1, countIncludePad: false)
    try emit(
      maximum ? .maxPool(pool) : .averagePool(pool), inputs: [(x.slot, x.shape.reduce(1, *))],
      shape: keepDims ? [x.shape[0], 1, 1] : [x.shape[0]], name: name)
  }

  mutating func compileReduceMean(_ node: ONNXNode, label: String, name: String) throws {
    let x = try runtimeInput(node, 0, label: label)
    let axes =
      try intsFromInputOrAttribute(
        node, input: 1, attribute: "axes", since: 18, label: label) ?? []
    let rank = x.shape.count + 1
    let normalized = Set(try axes.map { try axis(Int($0), rank: rank, label: label) })
    let keepDims = try flag(node, "keepdims", default: true, label: label)
    // Over height and width of [N, C, H, W]: the global average pool.
    if rank == 4, normalized == [2, 3] {
      try emitGlobalPool(x, maximum: false, keepDims: keepDims, name: name)
      return
    }
    // No axes reduces every axis, the batch's included: that would mix images.
    guard !normalized.isEmpty, !normalized.contains(0) else {
      throw error(
        label, "a mean over axes within the images (not the batch axis 0)",
        "axes \(axes.isEmpty ? "all" : "\(axes)") of rank \(rank)")
    }
    // Each input value's output position: its index with the reduced axes dropped.
    let shape = x.shape
    try requireMappable(shape.reduce(1, *), label: label)
    let reduced = Set(normalized.map { $0 - 1 })
    let kept = shape.indices.filter { !reduced.contains($0) }
    let outputStrides = ONNXTensor.strides(kept.map { shape[$0] })
    let inputStrides = ONNXTensor.strides(shape)
    let size = shape.reduce(1, *)
    var targets = [Int32](repeating: 0, count: size)
    for index in 0..<size {
      var target = 0
      for (position, axis) in kept.enumerated() {
        target += (index / inputStrides[axis] % shape[axis]) * outputStrides[position]
      }
      targets[index] = Int32(target)
    }
    let outputShape =
      keepDims ? shape.indices.map { reduced.contains($0) ? 1 : shape[$0] } : kept.map { shape[$0] }
    try emit(
      .reduceMean(
        targets: targets, divisor: Float(reduced.reduce(1) { $0 * shape[$1] })),
      inputs: [(x.slot, size)], shape: outputShape, name: name)
  }

  /// LayerNormalization (opset 17): over the axes from `axis` (default -1) to the last, with
  /// constant scale and bias of those axes' shape.
  mutating func compileLayerNorm(_ node: ONNXNode, label: String, name: String) throws {
    let x = try runtimeInput(node, 0, label: label)
    let rank = x.shape.count + 1
    let first = try axis(try int(node, "axis", default: -1, label: label), rank: rank, label: label)
    guard first >= 1 else {
      throw error(label, "a normalisation within the images (axis 1 or later)", "axis 0")
    }
    let groupSize = x.shape[(first - 1)...].reduce(1, *)
    let scale = try requiredConstant(node, 1, label: label).floats
    let bias =
      try constantInput(node, 2, label: label)?.floats ?? [Float](repeating: 0, count: groupSize)
    guard scale.count == groupSize, bias.count == groupSize else {
      throw error(
        label, "scale and bias of \(groupSize) values (the normalised axes)",
        "\(scale.count) and \(bias.count)")
    }
    try emit(
      .layerNorm(
        groupSize: groupSize, scale: scale, bias: bias,
        epsilon: try float(node, "epsilon", default: 1e-5, label: label)),
      inputs: [(x.slot, x.shape.reduce(1, *))], shape: x.shape, name: name)
  }

  mutating func compileFlatten(_ node: ONNXNode, label: String, name: String) throws {
    let raw = try int(node, "axis", default: 1, label: label)
    switch input(node, 0) {
    case .constant(let tensor)?:
      let axis = try axis(raw, rank: tensor.dims.count + 1, label: label)
      var folded = tensor
      folded.dims = [tensor.dims[..<axis].reduce(1, *), tensor.dims[axis...].reduce(1, *)]
      values[name] = .constant(folded)
    case .runtime(let slot, let shape)?:
      let axis = try axis(raw, rank: shape.count + 2, label: label)
      guard axis >= 1, shape[..<(axis - 1)].reduce(1, *) == 1 else {
        throw error(
          label, "a flatten that keeps images apart (axis 1)",
          "axis \(raw) of rank \(shape.count + 1)")
      }
      values[name] = .runtime(slot: slot, shape: [shape.reduce(1, *)])
    case nil: throw error(label, "input 0", "none")
    }
  }

  /// Reshape. A target whose leading dimension is the batch (`Shape` of the input, 0 or -1)
  /// keeps the batch; a fixed leading number (an export batch size baked in by the exporter,
  /// e.g. [2, 400]) is taken as the batch as well when the remaining dimensions hold exactly
  /// one image, since Bulwark never mixes images of a batch.
  mutating func compileReshape(_ node: ONNXNode, label: String, name: String) throws {
    let target: [Int64]
    if let tensor = try constantInput(node, 1, label: label) {
      target = tensor.ints
    } else if let attribute = try ints(node, "shape", label: label) {
      target = attribute.map { Int64($0) }
    } else {
      throw error(label, "a constant target shape", "none")
    }
    let allowZero = try flag(node, "allowzero", default: false, label: label)
    switch input(node, 0) {
    case .constant(let tensor)?:
      let dims = try resolveShape(
        target, input: tensor.dims, count: tensor.count, allowZero: allowZero, label: label)
      var folded = tensor
      folded.dims = dims
      values[name] = .constant(folded)
    case .runtime(let slot, let shape)?:
      let size = shape.reduce(1, *)
      guard let first = target.first else {
        throw error(label, "a target shape keeping the batch dimension", "[]")
      }
      // One axis holding everything: the batch of 1 the graph was exported at, flattened,
      // which only a gather may read (see `compileGather`). With one value per image this is
      // the batch axis alone, as before.
      if target.count == 1, size > 1, first == -1 || first == Int64(size) {
        values[name] = .runtime(slot: slot, shape: [size])
        flattenedBatches.insert(name)
        return
      }
      let keepsBatch =
        first == ONNXCompiler.batchMarker || first == -1 || first > 0 || (first == 0 && !allowZero)
      guard keepsBatch else {
        throw error(label, "a target shape keeping the batch dimension", "\(target)")
      }
      let rest = Array(target.dropFirst())
      if rest.contains(ONNXCompiler.batchMarker) {
        throw error(label, "the batch dimension first", "\(target)")
      }
      let dims: [Int]
      do {
        dims = try resolveShape(
          rest, input: shape, count: size, allowZero: allowZero, label: label)
      } catch {
        throw self.error(
          label,
          "a target shape [batch, …] whose other dimensions hold one image (\(size) values; "
            + "the first dimension is taken as the batch)", "\(target)")
      }
      values[name] = .runtime(slot: slot, shape: dims)
    case nil: throw error(label, "input 0", "none")
    }
  }

  /// Resolves 0 (copy the input's dimension at that position) and one -1 (inferred) in a
  /// target shape.
  func resolveShape(
    _ target: [Int64], input: [Int], count: Int, allowZero: Bool, label: String
  ) throws -> [Int] {
    var dims: [Int] = []
    var inferred: Int?
    for (position, value) in target.enumerated() {
      if value == 0 && !allowZero {
        let source = position
        guard source < input.count else {
          throw error(label, "0 only where the input has a dimension", "\(target)")
        }
        dims.append(input[source])
      } else if value == -1 {
        guard inferred == nil else { throw error(label, "at most one -1", "\(target)") }
        inferred = position
        dims.append(1)
      } else if value >= 0 && value <= Int64(Int32.max) {
        dims.append(Int(value))
      } else {
        throw error(label, "a target shape of sizes, 0 and -1", "\(target)")
      }
    }
    let known = try size(of: dims, label: label)
    if let inferred {
      guard known > 0, count % known == 0 else {
        throw error(label, "a shape that divides \(count) values", "\(target)")
      }
      dims[inferred] = count / known
    }
    guard dims.reduce(1, *) == count else {
      throw error(
        label, "a shape holding \(count) values", "\(target)")
    }
    return dims
  }
}
