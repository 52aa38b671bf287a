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
    case linear
    case relu
    /// Flatten: the values pass unchanged.
    case identity
    /// Dropout: unchanged in evaluation; in training, each value is zeroed with probability
    /// `probability` and the rest scaled by `1 / (1 - probability)` (PyTorch's inverted
    /// dropout).
    case dropout(probability: Double)
    case batchNorm(epsilon: Double)
    case softmax
  }

  var operation: Operation
  var input: TensorShape
  var output: TensorShape
  /// Offset of the first parameter (weight, then bias, …) in the flat vector.
  var parameterOffset: Int
}

extension Architecture {
  /// Resolves shapes and parameter placement, checking that everything chains.
  func stages() throws -> (stages: [Stage], tensors: [ParameterTensor]) {
    guard classes > 0 else {
      throw ModelError(field: "classes", expected: "a positive count", found: "\(classes)")
    }
    var shape = TensorShape(
      channels: input.channels, height: input.height, width: input.width, isFlat: false)
    guard shape.channels > 0, shape.height > 0, shape.width > 0 else {
      throw ModelError(field: "input", expected: "positive dimensions", found: "\(input)")
    }
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
      func add(_ name: String, _ suffix: String, _ dims: [Int], trainable: Bool = true) {
        tensors.append(
          ParameterTensor(
            name: "\(name).\(suffix)", shape: dims, offset: offset, isTrainable: trainable))
        offset += dims.reduce(1, *)
      }
      func pooled(_ kernel: Int, _ stride: Int) throws -> TensorShape {
        try requireImage()
        guard kernel > 0, stride > 0 else {
          throw fail("a positive kernel and stride", "kernel \(kernel), stride \(stride)")
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
        guard outputs > 0, kernel > 0, stride > 0, padding >= 0, groups > 0 else {
          throw fail(
            "positive out, kernel, stride, groups and padding >= 0",
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
        add(name, "weight", [outputs, inputs / groups, kernel, kernel])
        add(name, "bias", [outputs])
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
      case .linear(let inputs, let outputs):
        let name = try requireName()
        guard shape.isFlat else { throw fail("a flat input (add a flatten layer)", "\(shape)") }
        guard inputs == shape.channels else { throw fail("\(inputs) input features", "\(shape)") }
        guard outputs > 0 else { throw fail("a positive output width", "\(outputs)") }
        output = TensorShape(channels: outputs, height: 1, width: 1, isFlat: true)
        add(name, "weight", [outputs, inputs])
        add(name, "bias", [outputs])
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
        add(name, "weight", [features])
        add(name, "bias", [features])
        add(name, "running_mean", [features], trainable: false)
        add(name, "running_var", [features], trainable: false)
        operation = .batchNorm(epsilon: epsilon)
      case .softmax:
        guard index == layers.count - 1 else {
          throw fail("softmax only as the last layer", "\(layers.count - 1 - index) after it")
        }
        guard shape.isFlat else { throw fail("a flat input", "\(shape)") }
        operation = .softmax
      }
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
}
