/// Batch normalisation, `y = (x - mean) / sqrt(var + eps) * γ + β`.
///
/// In evaluation mode (PyTorch's `model.eval()`) the mean and variance are the running
/// statistics, applied as one scale and shift per channel. In training mode they are the
/// batch's (biased variance over images and positions), the gradient flows through them, and
/// the pass reports the batch mean and the unbiased variance for the running-average update.
struct BatchNorm {
  var channels: Int
  var planeSize: Int
  var epsilon: Double
  var gamma: [Float]
  var beta: [Float]
  /// `γ / sqrt(var + eps)` per channel.
  var scale: [Float]
  /// `β - mean · scale` per channel.
  var shift: [Float]
  /// `1 / sqrt(var + eps)` per channel.
  var inverseDeviation: [Float]
  var mean: [Float]

  init(_ stage: Stage, parameters: UnsafeBufferPointer<Float>, epsilon: Double) {
    channels = stage.input.channels
    planeSize = stage.input.height * stage.input.width
    let base = stage.parameterOffset
    let gamma = Array(parameters[base..<(base + channels)])
    let beta = Array(parameters[(base + channels)..<(base + 2 * channels)])
    let mean = Array(parameters[(base + 2 * channels)..<(base + 3 * channels)])
    let variance = parameters[(base + 3 * channels)..<(base + 4 * channels)]
    self.epsilon = epsilon
    self.gamma = gamma
    self.beta = beta
    let inverse = variance.map { Float(1 / (Double($0) + epsilon).squareRoot()) }
    self.mean = mean
    inverseDeviation = inverse
    scale = zip(gamma, inverse).map { $0 * $1 }
    shift = (0..<mean.count).map { beta[$0] - mean[$0] * gamma[$0] * inverse[$0] }
  }

  func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
    for image in 0..<count {
      for channel in 0..<channels {
        let offset = (image &* channels &+ channel) &* planeSize
        let a = scale[channel]
        let b = shift[channel]
        for index in offset..<(offset &+ planeSize) { output[index] = input[index] * a + b }
      }
    }
  }

  /// Adds γ and β gradients when given; writes the input gradient when given.
  func backward(
    _ input: UnsafePointer<Float>, _ outputGradient: UnsafePointer<Float>, count: Int,
    inputGradient: UnsafeMutablePointer<Float>?, parameterGradient: UnsafeMutablePointer<Float>?
  ) {
    for image in 0..<count {
      for channel in 0..<channels {
        let offset = (image &* channels &+ channel) &* planeSize
        if let parameterGradient {
          var gammaSum: Float = 0
          var betaSum: Float = 0
          let m = mean[channel]
          for index in offset..<(offset &+ planeSize) {
            gammaSum += outputGradient[index] * (input[index] - m)
            betaSum += outputGradient[index]
          }
          parameterGradient[channel] += gammaSum * inverseDeviation[channel]
          parameterGradient[channels &+ channel] += betaSum
        }
        if let inputGradient {
          let a = scale[channel]
          for index in offset..<(offset &+ planeSize) {
            inputGradient[index] = outputGradient[index] * a
          }
        }
      }
    }
  }

  /// Values of the batch statistics buffer per layer: the mean, `1 / sqrt(var + eps)` and the
  /// unbiased variance of each channel.
  var statisticsCount: Int { 3 * channels }

  /// Training-mode forward pass over a whole batch: normalises with the batch's statistics and
  /// writes them to `statistics` (see ``statisticsCount``). Sums run in Double, in a fixed
  /// order.
  func trainingForward(
    _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
    statistics: UnsafeMutablePointer<Float>
  ) {
    let values = Double(count * planeSize)
    for channel in 0..<channels {
      var sum = 0.0
      for image in 0..<count {
        let offset = (image &* channels &+ channel) &* planeSize
        for index in offset..<(offset &+ planeSize) { sum += Double(input[index]) }
      }
      let mean = sum / values
      var squares = 0.0
      for image in 0..<count {
        let offset = (image &* channels &+ channel) &* planeSize
        for index in offset..<(offset &+ planeSize) {
          let centred = Double(input[index]) - mean
          squares += centred * centred
        }
      }
      let variance = squares / values
      let inverse = 1 / (variance + epsilon).squareRoot()
      statistics[channel] = Float(mean)
      statistics[channels &+ channel] = Float(inverse)
      statistics[2 &* channels &+ channel] = Float(values > 1 ? squares / (values - 1) : 0)
      let a = Float(inverse) * gamma[channel]
      let b = beta[channel] - Float(mean) * a
      for image in 0..<count {
        let offset = (image &* channels &+ channel) &* planeSize
        for index in offset..<(offset &+ planeSize) { output[index] = input[index] * a + b }
      }
    }
  }

  /// Training-mode backward pass through the batch statistics written by
  /// ``trainingForward(_:_:count:statistics:)``: with `x̂ = (x - mean) / σ` over the `m`
  /// values of a channel, `∂γ = Σ dy x̂`, `∂β = Σ dy` and
  /// `dx = γ / (σ m) (m dy - Σ dy - x̂ Σ dy x̂)`.
  func trainingBackward(
    _ input: UnsafePointer<Float>, _ outputGradient: UnsafePointer<Float>, count: Int,
    statistics: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
    parameterGradient: UnsafeMutablePointer<Float>?
  ) {
    let values = Double(count * planeSize)
    for channel in 0..<channels {
      let mean = statistics[channel]
      let inverse = statistics[channels &+ channel]
      var gradientSum = 0.0
      var weightedSum = 0.0
      for image in 0..<count {
        let offset = (image &* channels &+ channel) &* planeSize
        for index in offset..<(offset &+ planeSize) {
          let gradient = Double(outputGradient[index])
          gradientSum += gradient
          weightedSum += gradient * Double((input[index] - mean) * inverse)
        }
      }
      if let parameterGradient {
        parameterGradient[channel] += Float(weightedSum)
        parameterGradient[channels &+ channel] += Float(gradientSum)
      }
      guard let inputGradient else { continue }
      let factor = gamma[channel] * inverse
      let meanGradient = Float(gradientSum / values)
      let meanWeighted = Float(weightedSum / values)
      for image in 0..<count {
        let offset = (image &* channels &+ channel) &* planeSize
        for index in offset..<(offset &+ planeSize) {
          let normalized = (input[index] - mean) * inverse
          inputGradient[index] =
            factor * (outputGradient[index] - meanGradient - normalized * meanWeighted)
        }
      }
    }
  }
}
