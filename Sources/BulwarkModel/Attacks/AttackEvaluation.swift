import BulwarkCore
import BulwarkData
import Foundation

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
      var label = 0
      for column in 1..<classes where row[row.startIndex + column] > row[row.startIndex + label] {
        label = column
      }
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
    // Each image's SSIM is computed on its own thread, stored by index, and summed in order.
    let similarities = UnsafeMutablePointer<Double>.allocate(capacity: successes.count)
    defer { similarities.deallocate() }
    let shared = SharedPointer(base: similarities)
    let chosen = successes
    Parallel.forEach(
      chosen.count,
      workers: Parallel.workerCount(chosen.count, threads: Parallel.defaultThreadCount)
    ) { _, position in
      let index = chosen[position]
      shared.base[position] = Self.structuralSimilarity(
        clean.image(at: index), adversarial.image(at: index), shape: clean.shape)
    }
    averageSSIM = mean(UnsafeBufferPointer(start: similarities, count: chosen.count))
  }

  /// MindSpore's `calculate_lp_distance`: L0, L2 and L-infinity norms of the difference, each
  /// divided by the same norm of the clean image plus 1e-14.
  static func relativeDistances(
    _ clean: ArraySlice<Float>, _ adversarial: ArraySlice<Float>
  ) -> (l0: Double, l2: Double, lInfinity: Double) {
    var (changed, nonzero, diffSquares, cleanSquares, diffMax, cleanMax) = (
      0, 0, 0.0, 0.0, 0.0, 0.0
    )
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
      Double(changed) / (Double(nonzero) + tiny),
      diffSquares.squareRoot()
        / (cleanSquares.squareRoot() + tiny), diffMax / (cleanMax + tiny)
    )
  }

  /// The SSIM of two images in [0, 1], scaled to 0-255, averaged over channels.
  static func structuralSimilarity(
    _ first: ArraySlice<Float>, _ second: ArraySlice<Float>, shape: ImageShape
  ) -> Double {
    let (height, width, channels) = (shape.height, shape.width, shape.channels)
    let c1 = (0.01 * 255.0) * (0.01 * 255.0)
    let c2 = (0.03 * 255.0) * (0.03 * 255.0)
    let size = height * width
    var total = 0.0
    var x = [Double](repeating: 0, count: size)
    var y = x
    for channel in 0..<channels {
      for pixel in 0..<size {
        x[pixel] = Double(Float(255) * first[first.startIndex + pixel * channels + channel])
        y[pixel] = Double(Float(255) * second[second.startIndex + pixel * channels + channel])
      }
      let muX = gaussianBlur(x, height, width)
      let muY = gaussianBlur(y, height, width)
      let xx = gaussianBlur(zip(x, x).map(*), height, width)
      let yy = gaussianBlur(zip(y, y).map(*), height, width)
      let xy = gaussianBlur(zip(x, y).map(*), height, width)
      var sum = 0.0
      for pixel in 0..<size {
        let (mx, my) = (muX[pixel], muY[pixel])
        let varianceX = xx[pixel] - mx * mx
        let varianceY = yy[pixel] - my * my
        let covariance = xy[pixel] - mx * my
        sum +=
          (2 * mx * my + c1) * (2 * covariance + c2)
          / ((mx * mx + my * my + c1) * (varianceX + varianceY + c2))
      }
      total += sum / Double(size)
    }
    return total / Double(channels)
  }

  /// One axis of MindSpore's 11 x 11 window: its 2-D Gaussian (σ = 1.5, centred at 5, not
  /// normalised) is the outer product of this kernel with itself.
  static let gaussianAxis: [Double] = {
    let sigma = 1.5
    return (0..<11).map { index in
      let offset = Double(index - 5)
      return exp(-offset * offset / (2 * sigma * sigma)) / ((2 * Double.pi).squareRoot() * sigma)
    }
  }()

  /// scipy.ndimage.convolve with MindSpore's window and the "reflect" border
  /// (d c b a | a b c d | d c b a), as two 1-D passes since the window is separable.
  static func gaussianBlur(_ image: [Double], _ height: Int, _ width: Int) -> [Double] {
    let kernel = gaussianAxis
    var rows = [Double](repeating: 0, count: height * width)
    for row in 0..<height {
      for column in 0..<width {
        var sum = 0.0
        for tap in 0..<11 {
          sum += kernel[tap] * image[row * width + reflect(column + tap - 5, width)]
        }
        rows[row * width + column] = sum
      }
    }
    var output = [Double](repeating: 0, count: height * width)
    for row in 0..<height {
      for column in 0..<width {
        var sum = 0.0
        for tap in 0..<11 {
          sum += kernel[tap] * rows[reflect(row + tap - 5, height) * width + column]
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
