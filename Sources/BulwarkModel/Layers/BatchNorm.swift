/// Batch normalisation with running statistics, `y = (x - mean) / sqrt(var + eps) * γ + β`,
/// applied as one scale and shift per channel.
///
/// Training uses the running statistics too (they are not updated): Bulwark trains networks
/// from scratch without batch norm and fine-tunes frozen ones, where eval-mode batch norm is
/// what PyTorch's `model.eval()` computes.
struct BatchNorm {
  var channels: Int
  var planeSize: Int
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
}
