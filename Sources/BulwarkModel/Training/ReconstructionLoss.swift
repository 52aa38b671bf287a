import BulwarkData
import Foundation

/// Binary cross-entropy of a reconstruction against its input image, the loss an autoencoder
/// (``Architecture/autoencoder(input:variational:)``) trains with: the network's outputs `z` are
/// the image's `C x H x W` values (channels first) before a sigmoid, and the loss is
/// `mean(-(x log σ(z) + (1 - x) log(1 - σ(z))))` over every value of every image (PyTorch
/// `BCEWithLogitsLoss` with pixel targets in [0, 1]). Its gradient on `z` is
/// `(σ(z) - x) / values`, which does not vanish when the sigmoid saturates, unlike the mean
/// squared error's.
public enum ReconstructionLoss {
  /// Values of `count` NHWC images channels first, as the network's outputs are ordered.
  /// - Parameters:
  ///   - values: NHWC values, a whole number of images.
  ///   - shape: The image shape.
  /// - Returns: `count x (C x H x W)` values.
  package static func channelsFirst(_ values: [Float], shape: ImageShape) -> [Float] {
    guard shape.channels > 1 else { return values }
    return permuted(values, shape: shape, toChannelsFirst: true)
  }

  /// Values of `count x (C x H x W)` channels first, back to NHWC.
  /// - Parameters:
  ///   - values: Row-major channels-first values, a whole number of images.
  ///   - shape: The image shape.
  /// - Returns: The values NHWC.
  package static func channelsLast(_ values: [Float], shape: ImageShape) -> [Float] {
    guard shape.channels > 1 else { return values }
    return permuted(values, shape: shape, toChannelsFirst: false)
  }

  private static func permuted(_ values: [Float], shape: ImageShape, toChannelsFirst: Bool)
    -> [Float]
  {
    let plane = shape.height * shape.width
    let size = shape.valueCount
    var result = [Float](repeating: 0, count: values.count)
    for image in 0..<(values.count / size) {
      for pixel in 0..<plane {
        for channel in 0..<shape.channels {
          let last = image * size + pixel * shape.channels + channel
          let first = image * size + channel * plane + pixel
          if toChannelsFirst {
            result[first] = values[last]
          } else {
            result[last] = values[first]
          }
        }
      }
    }
    return result
  }

  /// `1 / (1 + exp(-z))`.
  /// - Parameter value: The output before the sigmoid.
  /// - Returns: The reconstructed value in (0, 1).
  package static func sigmoid(_ value: Float) -> Float {
    Float(1 / (1 + exp(-Double(value))))
  }

  /// The mean loss of reconstructions against their targets.
  /// - Parameters:
  ///   - outputs: The network's outputs before the sigmoid, row-major.
  ///   - targets: The images' values in [0, 1] in the same (channels-first) order.
  /// - Returns: The mean binary cross-entropy per value.
  /// - Precondition: `outputs.count == targets.count`.
  public static func loss(outputs: [Float], targets: [Float]) -> Double {
    precondition(outputs.count == targets.count, "one target per output")
    var total = 0.0
    for (output, target) in zip(outputs, targets) {
      // -(x log σ(z) + (1 - x) log(1 - σ(z))) = max(z, 0) - x z + log(1 + exp(-|z|)).
      let z = Double(output)
      total += max(z, 0) - Double(target) * z + log1p(exp(-abs(z)))
    }
    return outputs.isEmpty ? 0 : total / Double(outputs.count)
  }

  /// The loss's gradient on a batch's outputs, row by row: `(σ(z) - x) / (rows x values)`.
  /// - Parameters:
  ///   - targets: The batch's images channels first, `rows x values`.
  ///   - values: Outputs per row.
  /// - Returns: A row gradient for `Network`'s backward pass.
  static func rowGradient(targets: [Float], values: Int) -> LogitRowGradient {
    let scale = 1 / Double(targets.count)
    return { image, outputs, gradient in
      let start = image * values
      for index in 0..<values {
        gradient[index] = Float(
          scale * (Double(sigmoid(outputs[index])) - Double(targets[start + index])))
      }
    }
  }
}
