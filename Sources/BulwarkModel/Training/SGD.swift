/// Stochastic gradient descent with momentum and weight decay, as PyTorch's `torch.optim.SGD`
/// (dampening 0, no Nesterov): `g = ∇ + λθ`, `b = g` on the first step then `b = μb + g`,
/// `θ -= lr · b` (`θ -= lr · g` without momentum).
public struct SGD: Optimizer {
  /// The step size.
  public var learningRate: Float
  /// The momentum factor μ; 0 for plain SGD.
  public var momentum: Float
  /// The L2 penalty λ added to the gradient.
  public var weightDecay: Float
  /// Momentum buffers, flat like the network's parameters; empty before the first step.
  var buffer: [Float] = []
  var tensors: [ParameterTensor] = []

  /// Creates the optimiser.
  /// - Parameters:
  ///   - learningRate: The step size.
  ///   - momentum: The momentum factor.
  ///   - weightDecay: The L2 penalty.
  public init(learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
    self.learningRate = learningRate
    self.momentum = momentum
    self.weightDecay = weightDecay
  }

  /// Applies one step.
  /// - Parameters:
  ///   - network: The network to update.
  ///   - gradients: Gradients with parameter gradients.
  /// - Throws: ``ModelError`` if the gradients do not fit the network.
  public mutating func update(_ network: inout Network, with gradients: Gradients) throws {
    try checkGradients(gradients, for: network)
    let first = buffer.isEmpty
    if first && momentum != 0 {
      buffer = [Float](repeating: 0, count: network.parameters.count)
    }
    tensors = network.tensors
    for tensor in network.tensors where tensor.isTrainable {
      for index in tensor.range {
        var g = gradients.flatParameters[index]
        if weightDecay != 0 { g += weightDecay * network.parameters[index] }
        if momentum != 0 {
          buffer[index] = first ? g : momentum * buffer[index] + g
          g = buffer[index]
        }
        network.parameters[index] -= learningRate * g
      }
    }
  }

  /// The momentum buffers as `<tensor>.momentum_buffer` (PyTorch's name); empty before the
  /// first step or without momentum.
  public var state: [String: [Float]] {
    namedState([("momentum_buffer", buffer)], tensors: tensors)
  }

  /// Restores momentum buffers saved from ``state``; an empty state means no step yet.
  /// - Parameters:
  ///   - state: The named arrays.
  ///   - network: The network the state belongs to.
  /// - Throws: ``ModelError`` for a missing, extra or wrong-size array.
  public mutating func restore(_ state: [String: [Float]], for network: Network) throws {
    tensors = network.tensors
    guard !state.isEmpty else {
      buffer = []
      return
    }
    buffer = try flatState(state, suffixes: ["momentum_buffer"], extra: [], network: network)[0]
  }
}
