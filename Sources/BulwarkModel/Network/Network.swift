import BulwarkData

/// A CNN with its parameters: forward pass, gradients, and the parameters in PyTorch
/// `state_dict` names and layouts (`conv1.weight` out x in x kH x kW, `fc1.weight` out x in).
///
/// Images enter as ``ImageBatch`` values or NHWC float arrays; the layers compute channels
/// first, so parameters load unchanged from the equivalent PyTorch module.
public struct Network: Sendable {
  /// The structure of the network.
  public let architecture: Architecture
  /// How the work is spread over threads.
  public var options: ComputeOptions
  /// Every parameter, tensor after tensor in `state_dict` order.
  var parameters: [Float]
  let stages: [Stage]
  let tensors: [ParameterTensor]

  /// Images per chunk of work; fixed so results do not depend on the thread count.
  static let chunkSize = 16

  /// The revision of the engine's arithmetic. It changes whenever a release computes other bits
  /// for the same model and input (a kernel's summation order, say), so that what an earlier
  /// release cached on disk (adversarial sets) is made again rather than taken for this one's.
  /// Revision 2: the cache-blocked GEMM, every product in order with fused multiply-adds.
  public static let arithmeticRevision = 2

  /// Builds a network from an architecture and its tensors.
  /// - Parameters:
  ///   - architecture: The structure; validated here.
  ///   - parameters: Every tensor by `state_dict` name, row-major. A batch norm's
  ///     `num_batches_tracked`, which PyTorch saves but never uses in eval mode, may be present
  ///     and is ignored.
  ///   - options: Threads to use.
  /// - Throws: ``ModelError`` for an invalid architecture, a missing, unexpected or wrong-size
  ///   tensor, a NaN or infinite value, or a negative batch-norm variance.
  public init(
    architecture: Architecture, parameters: [String: [Float]], options: ComputeOptions = .init()
  ) throws {
    let (stages, tensors) = try architecture.stages()
    // Every tensor is checked before the flat vector is allocated: its size comes from the
    // architecture, which only the tensors present vouch for.
    for tensor in tensors {
      guard let values = parameters[tensor.name] else {
        throw ModelError(
          field: tensor.name, expected: "a tensor of shape \(tensor.shape)", found: "none")
      }
      try Network.check(values, for: tensor)
    }
    var flat = [Float](repeating: 0, count: tensors.last.map { $0.offset + $0.count } ?? 0)
    for tensor in tensors {
      flat.replaceSubrange(tensor.range, with: parameters[tensor.name] ?? [])
    }
    let known = Set(tensors.map(\.name))
    let batchNorms = Set(
      architecture.layers.compactMap { layer -> String? in
        if case .batchNorm2d = layer.kind { return layer.name }
        return nil
      })
    for name in parameters.keys.sorted() where !known.contains(name) {
      let suffix = ".num_batches_tracked"
      if name.hasSuffix(suffix), batchNorms.contains(String(name.dropLast(suffix.count))) {
        continue
      }
      throw ModelError(
        field: name, expected: "only the architecture's tensors (\(tensors.count))",
        found: "an extra tensor")
    }
    self.architecture = architecture
    self.options = options
    self.stages = stages
    self.tensors = tensors
    self.parameters = flat
  }

  init(architecture: Architecture, flatParameters: [Float], options: ComputeOptions) throws {
    let (stages, tensors) = try architecture.stages()
    precondition(flatParameters.count == (tensors.last.map { $0.offset + $0.count } ?? 0))
    self.architecture = architecture
    self.options = options
    self.stages = stages
    self.tensors = tensors
    self.parameters = flatParameters
  }

  static func check(_ values: [Float], for tensor: ParameterTensor) throws {
    guard values.count == tensor.count else {
      let dims = tensor.shape.map(String.init).joined(separator: "x")
      throw ModelError(
        field: tensor.name, expected: "\(tensor.count) values (\(dims))",
        found: "\(values.count)")
    }
    if let index = values.firstIndex(where: { !$0.isFinite }) {
      throw ModelError(
        field: tensor.name, expected: "finite values", found: "\(values[index]) at \(index)")
    }
    if tensor.name.hasSuffix(".running_var"), let index = values.firstIndex(where: { $0 < 0 }) {
      throw ModelError(
        field: tensor.name, expected: "variances >= 0", found: "\(values[index]) at \(index)")
    }
  }

  /// The parameter tensors' names and shapes, in `state_dict` order.
  public var parameterShapes: [(name: String, shape: [Int])] {
    tensors.map { ($0.name, $0.shape) }
  }

  /// The number of parameter values (including batch-norm running statistics).
  public var parameterCount: Int { parameters.count }

  /// Every parameter tensor with its values, in `state_dict` order, ready to write to a file.
  /// - Returns: Name, shape and row-major values of each tensor.
  public func namedParameters() -> [(name: String, shape: [Int], values: [Float])] {
    tensors.map { ($0.name, $0.shape, Array(parameters[$0.range])) }
  }

  /// The values of one tensor.
  /// - Parameter name: The `state_dict` name, e.g. `fc1.bias`.
  /// - Returns: The row-major values, or nil if the network has no such tensor.
  public func parameter(named name: String) -> [Float]? {
    tensors.first { $0.name == name }.map { Array(parameters[$0.range]) }
  }

  /// Replaces the values of one tensor.
  /// - Parameters:
  ///   - name: The `state_dict` name.
  ///   - values: Row-major values of the tensor's shape.
  /// - Throws: ``ModelError`` for an unknown name, a wrong count or a non-finite value.
  public mutating func setParameter(named name: String, to values: [Float]) throws {
    guard let tensor = tensors.first(where: { $0.name == name }) else {
      throw ModelError(field: name, expected: "a tensor of the network", found: "none")
    }
    try Network.check(values, for: tensor)
    parameters.replaceSubrange(tensor.range, with: values)
  }
}
