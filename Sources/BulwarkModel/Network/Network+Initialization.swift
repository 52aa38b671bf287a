import BulwarkCore
import BulwarkData

extension Network {
  /// Builds a network with PyTorch's default initialisation, reproducibly from a seed:
  /// convolution and linear weights and biases uniform in ±1/sqrt(fan_in) (kaiming-uniform
  /// with a = sqrt(5), as `reset_parameters`), batch norm weight 1, bias 0, running mean 0,
  /// running variance 1.
  /// - Parameters:
  ///   - architecture: The structure; validated here.
  ///   - seed: Seed of the `SeededGenerator` generator; equal seeds give equal networks.
  ///   - options: Threads to use.
  /// - Throws: ``ModelError`` for an invalid architecture.
  public init(architecture: Architecture, seed: UInt64, options: ComputeOptions = .init()) throws {
    let (stages, tensors) = try architecture.stages()
    var generator = SeededGenerator(seed: seed)
    var values = [Float](repeating: 0, count: tensors.last.map { $0.offset + $0.count } ?? 0)
    for stage in stages {
      let offset = stage.parameterOffset
      switch stage.operation {
      case .conv, .linear:
        let weights = tensors.first { $0.offset == offset }.map(\.shape) ?? []
        let outputs = weights.first ?? 1
        let fanIn = weights.dropFirst().reduce(1, *)
        let bound = 1 / Float(fanIn).squareRoot()
        for index in offset..<(offset + outputs * fanIn + outputs) {
          values[index] = (2 * generator.unitFloat() - 1) * bound
        }
      case .batchNorm:
        let channels = stage.input.channels
        for index in 0..<channels {
          values[offset + index] = 1
          values[offset + 3 * channels + index] = 1
        }
      default:
        break
      }
    }
    try self.init(architecture: architecture, flatParameters: values, options: options)
  }
}
