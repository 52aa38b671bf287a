import BulwarkCore
import BulwarkData

@testable import BulwarkModel

/// Small architectures, networks and batches shared by the tests.
enum Fixtures {
  /// `count` images of uniform random values in [0, 1].
  static func randomPixels(_ count: Int, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in generator.unitFloat() }
  }

  /// A network of `layers` on `input` with random weights and, for batch norm, random running
  /// statistics (variance in [0.5, 1.5]).
  static func network(
    input: ImageShape, classes: Int, layers: [Layer], seed: UInt64 = 1, threads: Int = 1
  ) throws -> Network {
    let architecture = Architecture(input: input, classes: classes, layers: layers)
    var network = try Network(
      architecture: architecture, seed: seed, options: ComputeOptions(threads: threads))
    var generator = SeededGenerator(seed: seed &+ 100)
    for tensor in network.tensors {
      let suffix = tensor.name.split(separator: ".").last ?? ""
      if suffix == "running_var" || (suffix == "weight" && tensor.shape.count == 1) {
        let values = (0..<tensor.count).map { _ in 0.5 + generator.unitFloat() }
        try network.setParameter(named: tensor.name, to: values)
      } else if suffix == "running_mean" || (suffix == "bias" && tensor.shape.count == 1) {
        let values = (0..<tensor.count).map { _ in generator.unitFloat() - 0.5 }
        try network.setParameter(named: tensor.name, to: values)
      }
    }
    return network
  }

  /// A two-class problem on 4x4 grey images: class 0 is brighter on the left half, class 1 on
  /// the right, with noise.
  static func halves(count: Int, seed: UInt64) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    var pixels: [Float] = []
    var labels: [Int] = []
    for index in 0..<count {
      let label = index % 2
      for _ in 0..<4 {
        for column in 0..<4 {
          let bright = (column < 2) == (label == 0)
          pixels.append((bright ? 0.6 : 0.1) + 0.3 * generator.unitFloat())
        }
      }
      labels.append(label)
    }
    return ImageBatch(
      shape: ImageShape(height: 4, width: 4, channels: 1), pixels: pixels, labels: labels,
      classNames: ["left", "right"])
  }

  /// A small CNN for ``halves(count:seed:)``.
  static let halvesArchitecture = Architecture(
    input: ImageShape(height: 4, width: 4, channels: 1), classes: 2,
    layers: [
      .conv2d("conv1", 1, 4, kernel: 3, padding: 1), .relu, .maxPool2d(2), .flatten,
      .linear("fc1", 16, 2),
    ])
}
