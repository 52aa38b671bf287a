import Foundation

/// Adam (Kingma and Ba 2015) as PyTorch's `torch.optim.Adam`: `g = ∇ + λθ`,
/// `m = β1 m + (1 - β1) g`, `v = β2 v + (1 - β2) g²`,
/// `θ -= lr / (1 - β1ᵗ) · m / (sqrt(v) / sqrt(1 - β2ᵗ) + ε)`.
public struct Adam: Optimizer {
  /// The step size.
  public var learningRate: Float
  /// Decay of the first-moment estimate.
  public var beta1: Float
  /// Decay of the second-moment estimate.
  public var beta2: Float
  /// Added to the denominator for stability.
  public var epsilon: Float
  /// The L2 penalty λ added to the gradient (not decoupled, as `Adam`, not `AdamW`).
  public var weightDecay: Float
  /// Steps taken so far.
  public private(set) var step = 0
  var firstMoment: [Float] = []
  var secondMoment: [Float] = []
  var tensors: [ParameterTensor] = []

  /// Creates the optimiser with PyTorch's defaults.
  /// - Parameters:
  ///   - learningRate: The step size.
  ///   - beta1: Decay of the first moment.
  ///   - beta2: Decay of the second moment.
  ///   - epsilon: Denominator offset.
  ///   - weightDecay: The L2 penalty.
  public init(
    learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
    weightDecay: Float = 0
  ) {
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
  }

  /// Applies one step.
  /// - Parameters:
  ///   - network: The network to update.
  ///   - gradients: Gradients with parameter gradients.
  /// - Throws: ``ModelError`` if the gradients do not fit the network.
  public mutating func update(_ network: inout Network, with gradients: Gradients) throws {
    try checkGradients(gradients, for: network)
    if firstMoment.isEmpty {
      firstMoment = [Float](repeating: 0, count: network.parameters.count)
      secondMoment = firstMoment
    }
    tensors = network.tensors
    step += 1
    let correction1 = 1 - pow(Double(beta1), Double(step))
    let correction2 = 1 - pow(Double(beta2), Double(step))
    let stepSize = Float(Double(learningRate) / correction1)
    let root2 = Float(correction2.squareRoot())
    for tensor in network.tensors where tensor.isTrainable {
      for index in tensor.range {
        var g = gradients.flatParameters[index]
        if weightDecay != 0 { g += weightDecay * network.parameters[index] }
        let m = beta1 * firstMoment[index] + (1 - beta1) * g
        let v = beta2 * secondMoment[index] + (1 - beta2) * g * g
        firstMoment[index] = m
        secondMoment[index] = v
        network.parameters[index] -= stepSize * (m / (v.squareRoot() / root2 + epsilon))
      }
    }
  }

  /// The moments as `<tensor>.exp_avg` and `<tensor>.exp_avg_sq` (PyTorch's names) and the
  /// step count as `step` (one value); empty before the first step.
  public var state: [String: [Float]] {
    guard step > 0 else { return [:] }
    var state = namedState(
      [("exp_avg", firstMoment), ("exp_avg_sq", secondMoment)], tensors: tensors)
    state["step"] = [Float(step)]
    return state
  }

  /// Restores moments and step count saved from ``state``; an empty state means no step yet.
  /// - Parameters:
  ///   - state: The named arrays.
  ///   - network: The network the state belongs to.
  /// - Throws: ``ModelError`` for a missing, extra or wrong-size array or a bad step count.
  public mutating func restore(_ state: [String: [Float]], for network: Network) throws {
    tensors = network.tensors
    guard !state.isEmpty else {
      step = 0
      firstMoment = []
      secondMoment = []
      return
    }
    guard let steps = state["step"], steps.count == 1, steps[0] >= 1, steps[0] < 0x1p24,
      steps[0] == steps[0].rounded()
    else {
      throw ModelError(
        field: "step", expected: "one positive whole number", found: "\(state["step"] ?? [])")
    }
    let buffers = try flatState(
      state, suffixes: ["exp_avg", "exp_avg_sq"], extra: ["step"], network: network)
    step = Int(steps[0])
    firstMoment = buffers[0]
    secondMoment = buffers[1]
  }
}
