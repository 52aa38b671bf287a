/// The shape of an activation for one image: channels x height x width, or a flat vector
/// (`channels` values, height and width 1).
struct TensorShape: Equatable, Sendable, CustomStringConvertible {
  var channels: Int
  var height: Int
  var width: Int
  var isFlat: Bool

  var count: Int { channels * height * width }

  var description: String {
    isFlat ? "a vector of \(channels)" : "\(channels)x\(height)x\(width) (CxHxW)"
  }
}

/// One parameter tensor in the network's flat parameter vector.
struct ParameterTensor: Equatable, Sendable {
  var name: String
  var shape: [Int]
  var offset: Int
  /// False for batch-norm running statistics, which optimisers leave alone.
  var isTrainable: Bool

  var count: Int { shape.reduce(1, *) }
  var range: Range<Int> { offset..<(offset + count) }
}

/// A layer with its shapes resolved and its parameters placed: what a ``Network`` runs.
struct Stage: Sendable {
  enum Operation: Sendable {
    case conv(kernel: Int, stride: Int, padding: Int, groups: Int)
    case maxPool(kernel: Int, stride: Int)
    case avgPool(kernel: Int, stride: Int)
    case globalAvgPool
    case upsample(factor: Int)
    case linear
    case relu
    /// Flatten: the values pass unchanged.
    case identity
    /// Dropout: unchanged in evaluation; in training, each value is zeroed with probability
    /// `probability` and the rest scaled by `1 / (1 - probability)` (PyTorch's inverted
    /// dropout).
    case dropout(probability: Double)
    case batchNorm(epsilon: Double)
    /// A variational autoencoder's latent code from means and log-variances (the input's two
    /// halves): sampled in training, the means in evaluation.
    case gaussianSample
    case softmax
  }

  var operation: Operation
  var input: TensorShape
  var output: TensorShape
  /// Offset of the first parameter (weight, then bias, …) in the flat vector.
  var parameterOffset: Int
}

extension Architecture {
  /// Resolves shapes and parameter placement, checking that everything chains and that every
  /// size is within the limits before any of it is multiplied or allocated.
  func stages() throws -> (stages: [Stage], tensors: [ParameterTensor]) {
    let sizes = 1...Self.maximumSize
    guard sizes.contains(classes) else {
      throw ModelError(
        field: "classes", expected: "a count in 1...\(Self.maximumSize)", found: "\(classes)")
    }
    var shape = TensorShape(
      channels: input.channels, height: input.height, width: input.width, isFlat: false)
    guard sizes.contains(shape.channels), sizes.contains(shape.height), sizes.contains(shape.width)
    else {
      throw ModelError(
        field: "input", expected: "height, width and channels in 1...\(Self.maximumSize)",
        found: "\(input.height)x\(input.width)x\(input.channels)")
    }
    try Self.checkActivation(shape, field: "input")
    var stages: [Stage] = []
    var tensors: [ParameterTensor] = []
    var offset = 0
    var names = Set<String>()
    for (index, layer) in layers.enumerated() {
      let field = "layers[\(index)]" + (layer.name.map { " (\($0))" } ?? "")
      func fail(_ expected: String, _ found: String) -> ModelError {
        ModelError(field: field, expected: expected, found: found)
      }
      func requireName() throws -> String {
        guard let name = layer.name, !name.isEmpty else {
          throw fail("a module name for a layer with parameters", "none")
        }
        guard names.insert(name).inserted else {
          throw fail("a module name used once", "'\(name)' again")
        }
        return name
      }
      func requireImage() throws {
        guard !shape.isFlat else { throw fail("a CxHxW input", "\(shape)") }
      }
      func add(_ name: String, _ suffix: String, _ dims: [Int], trainable: Bool = true) throws {
        var count = 1
        for dim in dims {
          let (product, overflow) = count.multipliedReportingOverflow(by: dim)
          guard !overflow, product <= Self.maximumParameterCount else {
            throw fail(
              "a \(suffix) tensor of at most \(Self.maximumParameterCount) values",
              "shape \(dims)")
          }
          count = product
        }
        guard count <= Self.maximumParameterCount - offset else {
          throw fail(
            "at most \(Self.maximumParameterCount) parameter values in all",
            "\(offset) before this layer and \(count) in \(name).\(suffix)")
        }
        tensors.append(
          ParameterTensor(
            name: "\(name).\(suffix)", shape: dims, offset: offset, isTrainable: trainable))
        offset += count
      }
      func pooled(_ kernel: Int, _ stride: Int) throws -> TensorShape {
        try requireImage()
        guard sizes.contains(kernel), sizes.contains(stride) else {
          throw fail(
            "a kernel and stride in 1...\(Self.maximumSize)", "kernel \(kernel), stride \(stride)")
        }
        guard kernel <= shape.height, kernel <= shape.width else {
          throw fail("an input at least \(kernel)x\(kernel)", "\(shape)")
        }
        return TensorShape(
          channels: shape.channels, height: (shape.height - kernel) / stride + 1,
          width: (shape.width - kernel) / stride + 1, isFlat: false)
      }
      let start = offset
      let operation: Stage.Operation
      var output = shape
      switch layer.kind {
      case .conv2d(let inputs, let outputs, let kernel, let stride, let padding, let groups):
        let name = try requireName()
        try requireImage()
        guard inputs == shape.channels else {
          throw fail("\(inputs) input channels", "\(shape)")
        }
        guard sizes.contains(outputs), sizes.contains(kernel), sizes.contains(stride),
          sizes.contains(groups), (0...Self.maximumSize).contains(padding)
        else {
          throw fail(
            "out, kernel, stride and groups in 1...\(Self.maximumSize) and padding in "
              + "0...\(Self.maximumSize)",
            "out \(outputs), kernel \(kernel), stride \(stride), padding \(padding), "
              + "groups \(groups)")
        }
        guard inputs % groups == 0, outputs % groups == 0 else {
          throw fail("channel counts divisible by groups \(groups)", "in \(inputs), out \(outputs)")
        }
        let height = shape.height + 2 * padding - kernel
        let width = shape.width + 2 * padding - kernel
        guard height >= 0, width >= 0 else {
          throw fail("a padded input at least \(kernel)x\(kernel)", "\(shape)")
        }
        output = TensorShape(
          channels: outputs, height: height / stride + 1, width: width / stride + 1,
          isFlat: false)
        try add(name, "weight", [outputs, inputs / groups, kernel, kernel])
        try add(name, "bias", [outputs])
        operation = .conv(kernel: kernel, stride: stride, padding: padding, groups: groups)
      case .maxPool2d(let kernel, let stride):
        output = try pooled(kernel, stride)
        operation = .maxPool(kernel: kernel, stride: stride)
      case .avgPool2d(let kernel, let stride):
        output = try pooled(kernel, stride)
        operation = .avgPool(kernel: kernel, stride: stride)
      case .globalAvgPool:
        try requireImage()
        output = TensorShape(channels: shape.channels, height: 1, width: 1, isFlat: false)
        operation = .globalAvgPool
      case .upsample2d(let factor):
        try requireImage()
        guard sizes.contains(factor), shape.height <= Self.maximumSize / factor,
          shape.width <= Self.maximumSize / factor
        else {
          throw fail(
            "a factor in 1...\(Self.maximumSize) whose output sides are within "
              + "\(Self.maximumSize)", "factor \(factor) on \(shape)")
        }
        output = TensorShape(
          channels: shape.channels, height: shape.height * factor, width: shape.width * factor,
          isFlat: false)
        operation = .upsample(factor: factor)
      case .linear(let inputs, let outputs):
        let name = try requireName()
        guard shape.isFlat else { throw fail("a flat input (add a flatten layer)", "\(shape)") }
        guard inputs == shape.channels else { throw fail("\(inputs) input features", "\(shape)") }
        guard sizes.contains(outputs) else {
          throw fail("an output width in 1...\(Self.maximumSize)", "\(outputs)")
        }
        output = TensorShape(channels: outputs, height: 1, width: 1, isFlat: true)
        try add(name, "weight", [outputs, inputs])
        try add(name, "bias", [outputs])
        operation = .linear
      case .relu:
        operation = .relu
      case .flatten:
        output = TensorShape(channels: shape.count, height: 1, width: 1, isFlat: true)
        operation = .identity
      case .dropout(let p):
        guard p >= 0, p < 1 else { throw fail("a probability in [0, 1)", "\(p)") }
        operation = .dropout(probability: p)
      case .batchNorm2d(let features, let epsilon):
        let name = try requireName()
        try requireImage()
        guard features == shape.channels else { throw fail("\(features) channels", "\(shape)") }
        guard epsilon > 0, epsilon.isFinite else {
          throw fail("a positive epsilon", "\(epsilon)")
        }
        try add(name, "weight", [features])
        try add(name, "bias", [features])
        try add(name, "running_mean", [features], trainable: false)
        try add(name, "running_var", [features], trainable: false)
        operation = .batchNorm(epsilon: epsilon)
      case .gaussianSample:
        guard shape.channels % 2 == 0 else {
          throw fail("an even channel count (means, then log-variances)", "\(shape)")
        }
        output.channels = shape.channels / 2
        operation = .gaussianSample
      case .softmax:
        guard index == layers.count - 1 else {
          throw fail("softmax only as the last layer", "\(layers.count - 1 - index) after it")
        }
        guard shape.isFlat else { throw fail("a flat input", "\(shape)") }
        operation = .softmax
      }
      try Self.checkActivation(output, field: field)
      stages.append(
        Stage(operation: operation, input: shape, output: output, parameterOffset: start))
      shape = output
    }
    guard shape.isFlat, shape.channels == classes else {
      throw ModelError(
        field: "layers", expected: "an output of \(classes) classes (a flat vector)",
        found: "\(shape)")
    }
    return (stages, tensors)
  }

  /// Checks that an activation holds at most ``maximumActivationValues`` values, multiplying
  /// with overflow checks (each side is within ``maximumSize``, a flattened vector is not).
  private static func checkActivation(_ shape: TensorShape, field: String) throws {
    let (area, areaOverflow) = shape.height.multipliedReportingOverflow(by: shape.width)
    let (count, overflow) = area.multipliedReportingOverflow(by: shape.channels)
    guard !areaOverflow, !overflow, count <= maximumActivationValues else {
      throw ModelError(
        field: field, expected: "an activation of at most \(maximumActivationValues) values",
        found: "\(shape)")
    }
  }
}
