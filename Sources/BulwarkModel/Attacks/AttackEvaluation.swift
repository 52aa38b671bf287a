import Foundation
import BulwarkData

/// The attack metrics of MindSpore Armour's `AttackEvaluate`, computed over a clean batch, its
/// adversarial version and the classifier's probabilities on the adversarial images.
///
/// An example is *successful* when the adversarial prediction differs from the true label
/// (untargeted) or equals the target (targeted). Distances and SSIM are averaged over the
/// successful examples only, as in MindSpore; they are nil when no example succeeded (MindSpore
/// returns -1).
///
/// Deliberate differences from MindSpore's `compute_ssim`: it uses the SSIM constants for a
/// 0-255 data range whatever range it is given, which on [0, 1] images makes every SSIM almost
/// 1, and it divides the sum over channels by 3 even for one-channel images. Bulwark scales the
/// [0, 1] images to 0-255 first (Wang et al.'s SSIM with L = 255) and averages over the actual
/// channels. Its 11 x 11 Gaussian window (σ = 1.5, not normalised) and reflect border are kept.
public struct AttackEvaluation: Equatable, Sendable, Encodable {
  /// The share of examples the attack succeeded on (MR).
  public var misclassificationRate: Double
  /// The mean probability of the adversarial (or target) class over successful examples
  /// (ACAC).
  public var averageConfidenceAdversarialClass: Double?
  /// The mean probability of the true class over successful examples (ACTC).
  public var averageConfidenceTrueClass: Double?
  /// The mean of `nonzero(x' - x) / nonzero(x)` over successful examples: the changed pixels,
  /// relative to the non-zero pixels of the clean image.
  public var averageL0Distance: Double?
  /// The mean of `||x' - x||₂ / ||x||₂` over successful examples.
  public var averageL2Distance: Double?
  /// The mean of `max|x' - x| / max|x|` over successful examples.
  public var averageLInfinityDistance: Double?
  /// The mean structural similarity between clean and adversarial images over successful
  /// examples.
  public var averageSSIM: Double?
  /// The number of successful examples.
  public var successCount: Int

  /// Computes the metrics.
  /// - Parameters:
  ///   - clean: The clean images with their true labels.
  ///   - adversarial: The adversarial images, in the same order and shape.
  ///   - probabilities: The classifier's class probabilities on the adversarial images,
  ///     N x classes, row-major.
  ///   - targets: The target class of each example for a targeted attack; nil if untargeted.
  /// - Precondition: the batches, probabilities and targets agree in count and shape.
  public init(
    clean: ImageBatch, adversarial: ImageBatch, probabilities: [Float], targets: [Int]? = nil
  ) {
    precondition(clean.shape == adversarial.shape && clean.count == adversarial.count)
    let count = clean.count
    precondition(count == 0 || probabilities.count % count == 0, "probabilities do not fit")
    precondition(targets.map { $0.count == count } ?? true, "one target per example")
    let classes = count == 0 ? 0 : probabilities.count / count
    var successes: [Int] = []
    var predicted: [Int] = []
    for index in 0..<count {
      let row = probabilities[index * classes..<(index + 1) * classes]
      let label = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }! - index * classes
      predicted.append(label)
      let succeeded = targets.map { label == $0[index] } ?? (label != clean.labels[index])
      if succeeded { successes.append(index) }
    }
    successCount = successes.count
    misclassificationRate = count == 0 ? 0 : Double(successes.count) / Double(count)
    guard !successes.isEmpty else { return }
    func mean(_ values: some Sequence<Double>) -> Double {
      values.reduce(0, +) / Double(successes.count)
    }
    averageConfidenceAdversarialClass = mean(
      successes.map { Double(probabilities[$0 * classes + (targets?[$0] ?? predicted[$0])]) })
    averageConfidenceTrueClass = mean(
      successes.map { Double(probabilities[$0 * classes + clean.labels[$0]]) })
    let distances = successes.map {
      Self.relativeDistances(clean.image(at: $0), adversarial.image(at: $0))
    }
    averageL0Distance = mean(distances.map(\.l0))
    averageL2Distance = mean(distances.map(\.l2))
    averageLInfinityDistance = mean(distances.map(\.lInfinity))
    averageSSIM = mean(
      successes.map {
        Self.structuralSimilarity(clean.image(at: $0), adversarial.image(at: $0), shape: clean.shape)
      })
  }

  /// MindSpore's `calculate_lp_distance`: L0, L2 and L-infinity norms of the difference, each
  /// divided by the same norm of the clean image plus 1e-14.
  static func relativeDistances(
    _ clean: ArraySlice<Float>, _ adversarial: ArraySlice<Float>
  ) -> (l0: Double, l2: Double, lInfinity: Double) {
    var (changed, nonzero, diffSquares, cleanSquares, diffMax, cleanMax) = (0, 0, 0.0, 0.0, 0.0, 0.0)
    for (x, y) in zip(clean, adversarial) {
      let difference = Double(x) - Double(y)
      if difference != 0 { changed += 1 }
      if x != 0 { nonzero += 1 }
      diffSquares += difference * difference
      cleanSquares += Double(x) * Double(x)
      diffMax = max(diffMax, abs(difference))
      cleanMax = max(cleanMax, abs(Double(x)))
    }
    let tiny = 1e-14
    return (
      Double(changed) / (Double(nonzero) + tiny), diffSquares.squareRoot()
        / (cleanSquares.squareRoot() + tiny), diffMax / (cleanMax + tiny)
    )
  }

  /// The SSIM of two images in [0, 1], scaled to 0-255, averaged over channels.
  static func structuralSimilarity(
    _ first: ArraySlice<Float>, _ second: ArraySlice<Float>, shape: ImageShape
  ) -> Double {
    let (height, width, channels) = (shape.height, shape.width, shape.channels)
    let kernel = gaussianWindow
    let c1 = (0.01 * 255.0) * (0.01 * 255.0)
    let c2 = (0.03 * 255.0) * (0.03 * 255.0)
    var total = 0.0
    let a = Array(first)
    let b = Array(second)
    for channel in 0..<channels {
      var x = [Double](repeating: 0, count: height * width)
      var y = x
      for pixel in 0..<(height * width) {
        x[pixel] = Double(Float(255) * a[pixel * channels + channel])
        y[pixel] = Double(Float(255) * b[pixel * channels + channel])
      }
      let muX = convolve(x, height, width, kernel)
      let muY = convolve(y, height, width, kernel)
      let xx = convolve(zip(x, x).map(*), height, width, kernel)
      let yy = convolve(zip(y, y).map(*), height, width, kernel)
      let xy = convolve(zip(x, y).map(*), height, width, kernel)
      var sum = 0.0
      for pixel in 0..<(height * width) {
        let (mx, my) = (muX[pixel], muY[pixel])
        let varianceX = xx[pixel] - mx * mx
        let varianceY = yy[pixel] - my * my
        let covariance = xy[pixel] - mx * my
        sum += (2 * mx * my + c1) * (2 * covariance + c2)
          / ((mx * mx + my * my + c1) * (varianceX + varianceY + c2))
      }
      total += sum / Double(height * width)
    }
    return total / Double(channels)
  }

  /// MindSpore's 11 x 11 Gaussian window, σ = 1.5, centred at (5, 5), not normalised.
  static let gaussianWindow: [Double] = {
    let sigma = 1.5
    return (0..<121).map { index in
      let (i, j) = (Double(index / 11 - 5), Double(index % 11 - 5))
      return 1 / (2 * Double.pi * sigma * sigma) * exp(-(i * i + j * j) / (2 * sigma * sigma))
    }
  }()

  /// scipy.ndimage.convolve with a symmetric 11 x 11 kernel and the "reflect" border
  /// (d c b a | a b c d | d c b a).
  static func convolve(_ image: [Double], _ height: Int, _ width: Int, _ kernel: [Double])
    -> [Double]
  {
    var output = [Double](repeating: 0, count: height * width)
    for row in 0..<height {
      for column in 0..<width {
        var sum = 0.0
        for i in 0..<11 {
          let r = reflect(row + i - 5, height)
          for j in 0..<11 {
            sum += kernel[i * 11 + j] * image[r * width + reflect(column + j - 5, width)]
          }
        }
        output[row * width + column] = sum
      }
    }
    return output
  }

  /// scipy's "reflect" index: the edge value repeats, periodic beyond twice the length.
  static func reflect(_ index: Int, _ length: Int) -> Int {
    let period = 2 * length
    var position = index % period
    if position < 0 { position += period }
    return position < length ? position : period - 1 - position
  }
}
