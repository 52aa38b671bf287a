import BulwarkCore
import BulwarkData
import BulwarkDefenses
import Foundation

/// STRIP (Gao et al., ACSAC 2019; ART's `STRIP`): an image is blended with held-out clean
/// images, `alpha · x + (1 − alpha) · h`, and classified; a clean image's blends are classified
/// all over the place, while an input the classifier holds on to whatever it is blended with
/// (a trojan trigger, a strong perturbation) keeps its class, so the mean entropy of the blends'
/// predictions is low. The score is how far that mean entropy falls below its largest possible
/// value, `ln C − mean_n H(p(blend_n))` in nats, so that larger is more suspicious.
///
/// The `blends` held-out images of each image are drawn uniformly with replacement from the
/// pool (as ART's `np.random.choice`), by a generator seeded from `seed` and the image's
/// fingerprint: an image's score depends on nothing else, whatever the batch or thread count.
///
/// Where Bulwark differs from ART: ART fits a normal distribution to the clean entropies and
/// takes its `false_acceptance_rate` quantile; Bulwark takes the empirical quantile of the
/// clean scores (`Detector.threshold(flagging:of:)`), which assumes nothing of their shape.
///
/// In a pipeline file: `{ type: "strip", pool: "fashion-mnist:train", poolStart: 59000,
/// poolSize: 100, blends: 16, fpr: 0.05, fit: { clean: "fashion-mnist:train", limit: 2000 } }`.
public struct STRIPDetector: RegisteredDetector {
  /// The name of this detector in pipeline files.
  public static let typeName = "strip"
  /// `pool`, a path relative to the pipeline file.
  public static var pathKeys: [String] { [poolParameter.key] }

  /// The `pool` parameter: the data source of the held-out clean images (required).
  public static let poolParameter = DefenseParameter(
    "pool", default: "", expected: "a data source", accepts: { !$0.isEmpty })
  /// The `poolStart` parameter: the pool's first image in its source (default 0).
  public static let poolStartParameter = DefenseParameter(
    "poolStart", default: 0, expected: "an integer >= 0", accepts: { $0 >= 0 })
  /// The `poolSize` parameter: the pool's images, 1...100,000 (default 100).
  public static let poolSizeParameter = DefenseParameter(
    "poolSize", default: 100, in: 1...100_000)
  /// The `blends` parameter: blends per image, 1...1,000 (default 16).
  public static let blendsParameter = DefenseParameter("blends", default: 16, in: 1...1_000)
  /// The `alpha` parameter: the image's weight in a blend, in (0, 1) (default 0.5, ART's).
  public static let alphaParameter = DefenseParameter<Float>(
    "alpha", default: 0.5, expected: "a number in (0, 1)", accepts: { $0 > 0 && $0 < 1 })
  /// The `seed` parameter: seeds the draw of each image's pool images (default 0).
  public static let seedParameter = DefenseParameter<UInt64>(
    "seed", default: 0, expected: "an integer >= 0")

  /// The pool's data source as the stage names it.
  public let poolSource: String
  /// The pool's first image in its source.
  public let poolStart: Int
  /// The pool's size.
  public let poolSize: Int
  /// Blends per image.
  public let blends: Int
  /// The image's weight in a blend.
  public let alpha: Float
  /// Seeds the draws.
  public let seed: UInt64
  /// The share of clean images the fitted threshold may flag.
  public let falsePositiveRate: Double
  /// Images scoring above it are flagged; nil until fitted.
  public var threshold: Double?
  /// The folder the pool's source resolves against (the pipeline file's).
  private var folder: URL?
  /// The held-out images, once loaded.
  public private(set) var pool: ImageBatch?

  /// Creates the detector; its pool is read by `loadingFiles()`.
  /// - Parameters:
  ///   - poolSource: The pool's data source.
  ///   - poolStart: The pool's first image in the source.
  ///   - poolSize: The pool's size, 1...100,000.
  ///   - blends: Blends per image, 1...1,000.
  ///   - alpha: The image's weight in a blend, in (0, 1).
  ///   - seed: Seeds the draws.
  ///   - falsePositiveRate: The share of clean images the threshold may flag, in [0, 1).
  ///   - threshold: A threshold given instead of fitted.
  /// - Throws: `DefenseParameterError` for a parameter out of range.
  public init(
    poolSource: String, poolStart: Int = 0, poolSize: Int = Self.poolSizeParameter.defaultValue,
    blends: Int = Self.blendsParameter.defaultValue,
    alpha: Float = Self.alphaParameter.defaultValue, seed: UInt64 = 0,
    falsePositiveRate: Double = DetectorParameter.falsePositiveRate.defaultValue,
    threshold: Double? = nil
  ) throws(DefenseParameterError) {
    self.poolSource = try Self.poolParameter.validated(poolSource, stage: Self.typeName)
    self.poolStart = try Self.poolStartParameter.validated(poolStart, stage: Self.typeName)
    self.poolSize = try Self.poolSizeParameter.validated(poolSize, stage: Self.typeName)
    self.blends = try Self.blendsParameter.validated(blends, stage: Self.typeName)
    self.alpha = try Self.alphaParameter.validated(alpha, stage: Self.typeName)
    self.seed = seed
    self.falsePositiveRate = try DetectorParameter.falsePositiveRate.validated(
      falsePositiveRate, stage: Self.typeName)
    self.threshold = try threshold.map { value throws(DefenseParameterError) in
      try DetectorParameter.threshold.validated(value, stage: Self.typeName)
    }
  }

  /// A detector whose pool is given in memory (its whole batch).
  /// - Parameters:
  ///   - pool: The held-out clean images.
  ///   - blends: Blends per image.
  ///   - alpha: The image's weight in a blend.
  ///   - seed: Seeds the draws.
  ///   - falsePositiveRate: The share of clean images the threshold may flag.
  ///   - threshold: A threshold given instead of fitted.
  /// - Throws: `DefenseParameterError` for a parameter out of range or an empty pool.
  public init(
    pool: ImageBatch, blends: Int = Self.blendsParameter.defaultValue,
    alpha: Float = Self.alphaParameter.defaultValue, seed: UInt64 = 0,
    falsePositiveRate: Double = DetectorParameter.falsePositiveRate.defaultValue,
    threshold: Double? = nil
  ) throws(DefenseParameterError) {
    try self.init(
      poolSource: "(in memory)", poolSize: max(pool.count, 1), blends: blends, alpha: alpha,
      seed: seed, falsePositiveRate: falsePositiveRate, threshold: threshold)
    guard pool.count > 0 else {
      throw DefenseParameterError(
        stage: Self.typeName, parameter: Self.poolParameter.key, expected: "at least one image",
        found: "none")
    }
    self.pool = pool
  }

  /// Decodes `{ pool: "fashion-mnist:train", poolStart: 59000, poolSize: 100, blends: 16,
  /// alpha: 0.5, seed: 0, fpr: 0.05, threshold: 1.2 }`; `pool` is required.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type or a missing pool,
  ///   `DefenseParameterError` for values out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      poolSource: parameters.required(Self.poolParameter),
      poolStart: parameters.value(Self.poolStartParameter),
      poolSize: parameters.value(Self.poolSizeParameter),
      blends: parameters.value(Self.blendsParameter), alpha: parameters.value(Self.alphaParameter),
      seed: parameters.value(Self.seedParameter),
      falsePositiveRate: parameters.value(DetectorParameter.falsePositiveRate),
      threshold: parameters.valueIfPresent(DetectorParameter.threshold))
  }

  /// The stage with its pool's source resolved against the pipeline file's folder.
  /// - Parameter folder: The pipeline file's folder.
  /// - Returns: The stage.
  public func resolvingRelativePaths(against folder: URL) -> STRIPDetector {
    var stage = self
    stage.folder = folder
    return stage
  }

  /// The stage with its pool read and cut to `poolStart ..< poolStart + poolSize`.
  /// - Returns: The stage with its pool.
  /// - Throws: `DataSourceError` and format errors for a source that cannot be read;
  ///   `DetectorError.pool` when it holds too few images.
  public func loadingFiles() throws -> STRIPDetector {
    guard pool == nil else { return self }
    let images = try DataSource(poolSource, relativeTo: folder).load()
    guard poolStart + poolSize <= images.count else {
      throw DetectorError.pool(
        stage: Self.typeName,
        expected: "images \(poolStart)..<\(poolStart + poolSize) (poolStart, poolSize)",
        found: "\(images.count) images in \(poolSource)")
    }
    var stage = self
    stage.pool = images.selecting(poolStart..<poolStart + poolSize)
    return stage
  }

  /// `ln C − mean_n H(p(alpha · x + (1 − alpha) · h_n))` per image, in nats.
  /// - Parameters:
  ///   - batch: Images, NHWC, of the pool's shape.
  ///   - classify: The undefended classifier's probabilities.
  /// - Returns: One score per image, in [0, ln C].
  /// - Throws: `DetectorError.pool` for a pool of another shape (or none loaded); the errors
  ///   of `classify`.
  public func scores(_ batch: ImageBatch, classify: Classify) throws -> [Double] {
    guard let pool else {
      throw DetectorError.pool(stage: Self.typeName, expected: "images", found: "none loaded")
    }
    guard pool.shape == batch.shape else {
      throw DetectorError.pool(
        stage: Self.typeName, expected: "images of the input's shape \(batch.shape)",
        found: "\(pool.shape)")
    }
    let size = batch.shape.valueCount
    let fingerprints = batch.fingerprints()
    var scores: [Double] = []
    scores.reserveCapacity(batch.count)
    // A few images at a time, so that the blends of a large batch stay small.
    let imagesPerCall = max(1, 4_096 / blends)
    for first in stride(from: 0, to: batch.count, by: imagesPerCall) {
      let images = first..<min(first + imagesPerCall, batch.count)
      var pixels = [Float](repeating: 0, count: images.count * blends * size)
      var target = 0
      for image in images {
        var generator = SeededGenerator(seed: seed, stream: fingerprints[image])
        let source = image * size
        for _ in 0..<blends {
          let other = Int.random(in: 0..<pool.count, using: &generator) * size
          for offset in 0..<size {
            pixels[target + offset] =
              alpha * batch.pixels[source + offset] + (1 - alpha) * pool.pixels[other + offset]
          }
          target += size
        }
      }
      let blended = ImageBatch(
        shape: batch.shape, pixels: pixels,
        labels: [Int](repeating: 0, count: images.count * blends))
      let probabilities = try classify(blended)
      let classes = probabilities.count / max(blended.count, 1)
      let most = Foundation.log(Double(classes))
      for image in 0..<images.count {
        var total = 0.0
        for blend in 0..<blends {
          let row = (image * blends + blend) * classes
          total += Self.entropy(probabilities[row..<row + classes])
        }
        scores.append(most - total / Double(blends))
      }
    }
    return scores
  }

  /// The entropy of a probability row in nats, `−Σ p ln p` (0 ln 0 = 0).
  /// - Parameter row: Probabilities.
  /// - Returns: The entropy.
  public static func entropy(_ row: ArraySlice<Float>) -> Double {
    row.reduce(0) { sum, value in
      value > 0 ? sum - Double(value) * Foundation.log(Double(value)) : sum
    }
  }

  /// The settings the threshold depends on.
  public var fitConfiguration: [String: String] {
    [
      // The resolved source, so that the same file named from another folder is the same.
      "fpr": "\(falsePositiveRate)",
      "pool": (try? DataSource(poolSource, relativeTo: folder).description) ?? poolSource,
      "poolStart": "\(poolStart)",
      "poolSize": "\(poolSize)", "blends": "\(blends)", "alpha": "\(alpha)", "seed": "\(seed)",
    ]
  }
}
