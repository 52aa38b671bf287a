/// An optimiser: updates a network's parameters from their gradients, keeping state (momentum,
/// moment estimates) that can be saved with a checkpoint and restored to resume training.
public protocol Optimizer: Sendable {
  /// The step size; a ``LearningRateSchedule`` sets it at the start of each epoch.
  var learningRate: Float { get set }

  /// Applies one step to every trainable parameter (batch-norm running statistics excepted).
  /// - Parameters:
  ///   - network: The network to update.
  ///   - gradients: Gradients computed with parameter gradients for this network.
  /// - Throws: ``ModelError`` if the gradients lack parameter gradients or do not fit.
  mutating func update(_ network: inout Network, with gradients: Gradients) throws

  /// The optimiser's state as named arrays (`fc1.weight.momentum_buffer`, `step`, …), ready to
  /// store in a checkpoint; empty before the first step.
  var state: [String: [Float]] { get }

  /// Restores a state saved from ``state`` for the same architecture.
  /// - Parameters:
  ///   - state: The named arrays.
  ///   - network: The network the state belongs to (for its tensor names and sizes).
  /// - Throws: ``ModelError`` for a missing, extra or wrong-size array.
  mutating func restore(_ state: [String: [Float]], for network: Network) throws
}

extension Optimizer {
  /// Checks that `gradients` carry parameter gradients of `network`'s size.
  func checkGradients(_ gradients: Gradients, for network: Network) throws {
    guard gradients.flatParameters.count == network.parameters.count else {
      throw ModelError(
        field: "gradients", expected: "\(network.parameters.count) parameter gradients",
        found: "\(gradients.flatParameters.count)")
    }
  }

  /// Splits per-parameter buffers into named arrays, one per trainable tensor.
  func namedState(
    _ buffers: [(suffix: String, values: [Float])], tensors: [ParameterTensor]
  ) -> [String: [Float]] {
    var state: [String: [Float]] = [:]
    for tensor in tensors where tensor.isTrainable {
      for (suffix, values) in buffers where !values.isEmpty {
        state["\(tensor.name).\(suffix)"] = Array(values[tensor.range])
      }
    }
    return state
  }

  /// Joins named arrays back into per-parameter buffers, checking names and sizes.
  func flatState(
    _ state: [String: [Float]], suffixes: [String], extra: Set<String>, network: Network
  ) throws -> [[Float]] {
    var buffers = suffixes.map { _ in [Float](repeating: 0, count: network.parameters.count) }
    var expected = extra
    for tensor in network.tensors where tensor.isTrainable {
      for (index, suffix) in suffixes.enumerated() {
        let name = "\(tensor.name).\(suffix)"
        expected.insert(name)
        guard let values = state[name] else {
          throw ModelError(field: name, expected: "\(tensor.count) values", found: "none")
        }
        try Network.check(
          values,
          for: ParameterTensor(
            name: name, shape: tensor.shape, offset: 0, isTrainable: true))
        buffers[index].replaceSubrange(tensor.range, with: values)
      }
    }
    if let name = state.keys.sorted().first(where: { !expected.contains($0) }) {
      throw ModelError(field: name, expected: "only optimiser state arrays", found: "an extra one")
    }
    return buffers
  }
}
