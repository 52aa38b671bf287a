/// Gemm, MatMul, elementwise arithmetic and batch normalisation.
extension ONNXCompiler {
  /// `Y = alpha A' B' + beta C` with A the images' features (`[N, K]`), B and C constants.
  mutating func compileGemm(_ node: ONNXNode, label: String, name: String) throws {
    let a = try runtimeInput(node, 0, label: label)
    let b = try requiredConstant(node, 1, label: label)
    let alpha = try float(node, "alpha", default: 1, label: label)
    let beta = try float(node, "beta", default: 1, label: label)
    let transA = try flag(node, "transA", default: false, label: label)
    let transB = try flag(node, "transB", default: false, label: label)
    guard a.shape.count == 1, !transA, b.dims.count == 2 else {
      throw error(
        label, "A [N, K] computed from the images (transA = 0) and a constant 2-D B",
        "A rank \(a.shape.count + 1)\(transA ? " transposed" : ""), B dims \(b.dims)")
    }
    let k = a.shape[0]
    let (rows, columns) = (b.dims[0], b.dims[1])
    let outputs = transB ? rows : columns
    guard (transB ? columns : rows) == k else {
      throw error(label, "B with \(k) rows after transB", "B dims \(b.dims), transB \(transB)")
    }
    // B' as K x outputs, scaled by alpha.
    let values = b.floats
    var weight = [Float](repeating: 0, count: k * outputs)
    for p in 0..<k {
      for j in 0..<outputs {
        let value = transB ? values[j * columns + p] : values[p * columns + j]
        weight[p * outputs + j] = alpha * value
      }
    }
    var bias = [Float](repeating: 0, count: outputs)
    if let c = try constantInput(node, 2, label: label) {
      guard ONNXBroadcast.shape(c.dims, [1, outputs]) == [1, outputs] else {
        throw error(label, "C broadcastable to [1, \(outputs)]", "C dims \(c.dims)")
      }
      let map = ONNXBroadcast.map(c.dims, to: [1, outputs]) ?? Array(0..<outputs)
      let cValues = c.floats
      bias = map.map { beta * cValues[$0] }
    }
    try emitDense(
      a, rows: 1, inputs: k, outputs: outputs, weight: weight, bias: bias, shape: [outputs],
      name: name)
  }

  mutating func emitDense(
    _ a: (slot: Int, shape: [Int]), rows: Int, inputs: Int, outputs: Int, weight: [Float],
    bias: [Float], shape: [Int], name: String
  ) throws {
    var transposed = [Float](repeating: 0, count: weight.count)
    for p in 0..<inputs {
      for j in 0..<outputs { transposed[j * inputs + p] = weight[p * outputs + j] }
    }
    try emit(
      .dense(
        rows: rows, inputs: inputs, outputs: outputs, weight: weight, transposed: transposed,
        bias: bias),
      inputs: [(a.slot, a.shape.reduce(1, *))], shape: shape, name: name)
  }

  /// `A · B` with A computed from the images and B a constant matrix.
  mutating func compileMatMul(_ node: ONNXNode, label: String, name: String) throws {
    if case .constant(let a)? = input(node, 0), case .constant(let b)? = input(node, 1),
      a.dims.count == 2, b.dims.count == 2, a.dims[1] == b.dims[0]
    {
      let (m, k, n) = (a.dims[0], a.dims[1], b.dims[1])
      let (x, y) = (a.floats, b.floats)
      var result = [Float](repeating: 0, count: m * n)
      for i in 0..<m {
        for p in 0..<k {
          for j in 0..<n { result[i * n + j] += x[i * k + p] * y[p * n + j] }
        }
      }
      values[name] = .constant(ONNXTensor(dims: [m, n], floats: result))
      return
    }
    let a = try runtimeInput(node, 0, label: label)
    if case .runtime(let slot, let shape)? = input(node, 1) {
      try compileProduct(a, (slot, shape), label: label, name: name)
      return
    }
    let b = try requiredConstant(node, 1, label: label)
    guard let k = a.shape.last, b.dims.count == 2, b.dims[0] == k else {
      throw error(
        label, "A [N, …, K] computed from the images times a constant B [K, M]",
        "A per-image shape \(a.shape), B dims \(b.dims)")
    }
    let outputs = b.dims[1]
    try emitDense(
      a, rows: a.shape.dropLast().reduce(1, *), inputs: k, outputs: outputs, weight: b.floats,
      bias: [Float](repeating: 0, count: outputs), shape: a.shape.dropLast() + [outputs],
      name: name)
  }

  /// MatMul of two values computed from the images (attention's scores and mixing): per image,
  /// A [..., M, K] times B [..., K, P] for each of the leading positions, which must agree.
  mutating func compileProduct(
    _ a: (slot: Int, shape: [Int]), _ b: (slot: Int, shape: [Int]), label: String, name: String
  ) throws {
    guard a.shape.count >= 2, a.shape.count == b.shape.count,
      a.shape.dropLast(2) == b.shape.dropLast(2),
      a.shape[a.shape.count - 1] == b.shape[b.shape.count - 2]
    else {
      throw error(
        label, "A [..., M, K] and B [..., K, P] computed from the images, leading axes alike",
        "A per-image shape \(a.shape), B \(b.shape)")
    }
    let (m, k, p) = (a.shape[a.shape.count - 2], a.shape[a.shape.count - 1], b.shape.last ?? 1)
    let leading = Array(a.shape.dropLast(2))
    try emit(
      .product(batches: leading.reduce(1, *), m: m, k: k, p: p),
      inputs: [(a.slot, a.shape.reduce(1, *)), (b.slot, b.shape.reduce(1, *))],
      shape: leading + [m, p], name: name)
  }

  mutating func compileBinary(_ node: ONNXNode, label: String, name: String) throws {
    let op: ONNXStep.BinaryOperator
    switch node.opType {
    case "Add": op = .add
    case "Sub": op = .subtract
    case "Mul": op = .multiply
    default: op = .divide
    }
    guard let left = input(node, 0), let right = input(node, 1) else {
      throw error(label, "two inputs", "\(node.inputs.count)")
    }
    if case .constant(let a) = left, case .constant(let b) = right {
      values[name] = .constant(try foldBinary(op, a, b, label: label))
      return
    }
    // Per-image operand shapes: a runtime value without its batch dimension; a constant of the
    // output's full rank without its leading 1.
    let rank = max(rankOf(left), rankOf(right))
    func perImage(_ value: Value) throws -> [Int] {
      switch value {
      case .runtime(_, let shape):
        guard shape.count + 1 == rank else {
          throw error(label, "operands computed from the images of one rank", "ranks differ")
        }
        return shape
      case .constant(let tensor):
        if tensor.dims.count == rank {
          guard tensor.dims.first == 1 else {
            throw error(
              label, "a constant that broadcasts over the batch (leading dimension 1)",
              "dims \(tensor.dims)")
          }
          return Array(tensor.dims.dropFirst())
        }
        return tensor.dims
      }
    }
    let (leftShape, rightShape) = (try perImage(left), try perImage(right))
    guard let shape = ONNXBroadcast.shape(leftShape, rightShape) else {
      throw error(label, "broadcastable shapes", "\(leftShape) and \(rightShape)")
    }
    var slots: [(slot: Int, size: Int)] = []
    func constant(_ value: Value) -> [Float]? {
      switch value {
      case .constant(let tensor): return tensor.floats
      case .runtime(let slot, let shape):
        slots.append((slot, shape.reduce(1, *)))
        return nil
      }
    }
    let binary = ONNXStep.Binary(
      op: op,
      broadcast: ONNXBroadcast(
        outputShape: shape, leftMap: ONNXBroadcast.map(leftShape, to: shape),
        rightMap: ONNXBroadcast.map(rightShape, to: shape)),
      leftConstant: constant(left), rightConstant: constant(right),
      leftSize: leftShape.reduce(1, *), rightSize: rightShape.reduce(1, *))
    try emit(.binary(binary), inputs: slots, shape: shape, name: name)
  }

  func rankOf(_ value: Value) -> Int {
    switch value {
    case .runtime(_, let shape): shape.count + 1
    case .constant(let tensor): tensor.dims.count
    }
  }

  /// Arithmetic on two constants (integer arithmetic for integer shape values).
  func foldBinary(_ op: ONNXStep.BinaryOperator, _ a: ONNXTensor, _ b: ONNXTensor, label: String)
    throws -> ONNXTensor
  {
    guard let shape = ONNXBroadcast.shape(a.dims, b.dims) else {
      throw error(label, "broadcastable shapes", "\(a.dims) and \(b.dims)")
    }
    let count = shape.reduce(1, *)
    let leftMap = ONNXBroadcast.map(a.dims, to: shape) ?? Array(0..<count)
    let rightMap = ONNXBroadcast.map(b.dims, to: shape) ?? Array(0..<count)
    if !a.isFloat && !b.isFloat {
      let (x, y) = (a.ints, b.ints)
      guard !x.contains(ONNXCompiler.batchMarker), !y.contains(ONNXCompiler.batchMarker) else {
        throw error(label, "arithmetic on fixed sizes", "arithmetic on the batch size")
      }
      var result: [Int64] = []
      for index in 0..<count {
        let (p, q) = (x[leftMap[index]], y[rightMap[index]])
        switch op {
        case .add: result.append(p &+ q)
        case .subtract: result.append(p &- q)
        case .multiply: result.append(p &* q)
        case .divide:
          guard q != 0 else { throw error(label, "a non-zero divisor", "0") }
          result.append(p / q)
        }
      }
      return ONNXTensor(dims: shape, ints: result)
    }
    let (x, y) = (a.floats, b.floats)
    let result = (0..<count).map { index -> Float in
      let (p, q) = (x[leftMap[index]], y[rightMap[index]])
      switch op {
      case .add: return p + q
      case .subtract: return p - q
      case .multiply: return p * q
      case .divide: return p / q
      }
    }
    return ONNXTensor(dims: shape, floats: result)
  }

  /// Inference batch norm; folded into the convolution before it when that convolution's
  /// output feeds nothing else (and no ReLU has been folded into it).
  mutating func compileBatchNorm(_ node: ONNXNode, label: String, name: String) throws {
    let x = try runtimeInput(node, 0, label: label)
    let parameters = try (1...4).map { try requiredConstant(node, $0, label: label).floats }
    let channels = x.shape.first ?? 0
    guard parameters.allSatisfy({ $0.count == channels }) else {
      throw error(
        label, "scale, bias, mean and variance of \(channels) values each",
        "\(parameters.map(\.count))")
    }
    let epsilon = Double(try float(node, "epsilon", default: 1e-5, label: label))
    let (gamma, beta, mean, variance) = (parameters[0], parameters[1], parameters[2], parameters[3])
    var scale = [Double](repeating: 0, count: channels)
    var shift = [Double](repeating: 0, count: channels)
    for channel in 0..<channels {
      guard variance[channel] >= 0 else {
        throw error(label, "variances >= 0", "\(variance[channel]) at \(channel)")
      }
      scale[channel] = Double(gamma[channel]) / (Double(variance[channel]) + epsilon).squareRoot()
      shift[channel] = Double(beta[channel]) - Double(mean[channel]) * scale[channel]
    }
    let inputName = node.inputs[0]
    if foldsIntoConvolutions, let producer = producers[x.slot], useCounts[inputName] == 1,
      !graphOutputs.contains(inputName),
      case .conv(let conv, var weight, var bias) = steps[producer].operation, !conv.rectifies
    {
      let perFilter = weight.count / channels
      for channel in 0..<channels {
        for index in (channel * perFilter)..<((channel + 1) * perFilter) {
          weight[index] = Float(Double(weight[index]) * scale[channel])
        }
        bias[channel] = Float(Double(bias[channel]) * scale[channel] + shift[channel])
      }
      steps[producer].operation = .conv(conv, weight: weight, bias: bias)
      values[name] = .runtime(slot: x.slot, shape: x.shape)
      return
    }
    try emit(
      .affine(
        channels: channels, planeSize: x.shape.dropFirst().reduce(1, *),
        scale: scale.map { Float($0) }, shift: shift.map { Float($0) }),
      inputs: [(x.slot, x.shape.reduce(1, *))], shape: x.shape, name: name)
  }
}
