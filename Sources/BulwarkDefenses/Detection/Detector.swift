import BulwarkData
import Foundation

/// A defense that flags inputs it takes for adversarial (ART's detectors): the pipeline abstains
/// on a flagged image, giving it an all-zero row, which the scorer counts as wrong on every set
/// (see `Probabilities.abstainedRows`).
///
/// A detector scores every image, the larger the more suspicious, and flags the images whose
/// score is above its threshold. The threshold is fitted for a target false-positive rate on
/// clean images: `bulwark fit` scores the clean images of the stage's `fit` key, keeps the
/// largest score that leaves at most `falsePositiveRate` of them above it (see
/// `threshold(flagging:of:)`), and saves it as the stage's model with a fit record, so that
/// scoring refuses the images it was fitted on (`FittedStage`). A pipeline file can also give
/// the threshold itself (`threshold: 0.4`).
///
/// Detectors see the images as they reach the pipeline, before any preprocessor, and the
/// undefended classifier through `classify`. A detector that learns more than a threshold (a
/// network telling clean from adversarial images) does so in `learn(clean:adversarial:classify:)`
/// before its threshold is fitted.
public protocol Detector: FittedStage {
  /// The share of clean images the fitted threshold may flag (the `fpr` key).
  var falsePositiveRate: Double { get }

  /// Images scoring above it are flagged; nil until fitted or loaded.
  var threshold: Double? { get set }

  /// Scores every image: the larger, the more suspicious.
  /// - Parameters:
  ///   - batch: Images, NHWC, as they reach the pipeline.
  ///   - classify: The undefended classifier's probabilities, `count x classes` values.
  /// - Returns: One finite score per image.
  /// - Throws: The detector's own errors, and those of `classify`.
  func scores(_ batch: ImageBatch, classify: Classify) throws -> [Double]

  /// The input gradient of each image's score, for attacks that must evade the detector, or
  /// nil when the score is not differentiable (the attacks then rely on score-based search).
  /// - Parameters:
  ///   - batch: Images, NHWC.
  ///   - classify: The undefended classifier's probabilities.
  /// - Returns: One value per pixel value, NHWC, or nil.
  /// - Throws: The detector's errors.
  func scoreGradient(_ batch: ImageBatch, classify: Classify) throws -> [Float]?

  /// Whether `learn(clean:adversarial:classify:)` needs adversarial images (the stage's
  /// `fit.adversarial`); a detector that does not refuses them.
  var learnsFromAdversarialImages: Bool { get }

  /// Learns what the detector needs from its fit images before its threshold is fitted.
  /// - Parameters:
  ///   - clean: The clean fit images.
  ///   - adversarial: The adversarial fit images (empty unless `learnsFromAdversarialImages`).
  ///   - classify: The undefended classifier's probabilities.
  /// - Returns: The clean images to fit the threshold on: ones it did not learn from.
  /// - Throws: The detector's errors.
  mutating func learn(clean: ImageBatch, adversarial: ImageBatch, classify: Classify) throws
    -> ImageBatch
}

/// The undefended classifier as a detector sees it: one probability row per image.
public typealias Classify = (ImageBatch) throws -> [Float]

extension Detector {
  /// Whether it has a threshold.
  public var isFitted: Bool { threshold != nil }

  /// Nil: the score is not differentiable.
  /// - Parameters:
  ///   - batch: Images (unused).
  ///   - classify: Unused.
  /// - Returns: nil.
  public func scoreGradient(_ batch: ImageBatch, classify: Classify) -> [Float]? { nil }

  /// False: only the threshold is learnt, from clean images.
  public var learnsFromAdversarialImages: Bool { false }

  /// Learns nothing: the threshold is fitted on every clean image.
  /// - Parameters:
  ///   - clean: The clean fit images.
  ///   - adversarial: Unused.
  ///   - classify: Unused.
  /// - Returns: `clean`.
  public func learn(clean: ImageBatch, adversarial: ImageBatch, classify: Classify) -> ImageBatch {
    clean
  }

  /// `json`: the model is `{ "threshold": …, "fpr": … }`.
  public static var modelFileExtension: String { "json" }

  /// Flags every image whose score is above the threshold.
  /// - Parameters:
  ///   - batch: Images, NHWC.
  ///   - classify: The undefended classifier's probabilities.
  /// - Returns: One flag per image.
  /// - Throws: `DetectorError.notFitted` without a threshold; the errors of `scores`.
  public func flags(_ batch: ImageBatch, classify: Classify) throws -> [Bool] {
    try excess(batch, classify: classify).map { $0 > 0 }
  }

  /// How far each image's score is above the threshold: `score − threshold` for the images the
  /// detector flags (always > 0), 0 for the others. What an attack evading the detector drives
  /// down.
  /// - Parameters:
  ///   - batch: Images, NHWC.
  ///   - classify: The undefended classifier's probabilities.
  /// - Returns: One value per image.
  /// - Throws: `DetectorError.notFitted` without a threshold; the errors of `scores`.
  public func excess(_ batch: ImageBatch, classify: Classify) throws -> [Double] {
    guard let threshold else { throw DetectorError.notFitted(stage: Self.stageName) }
    return try checkedScores(batch, classify: classify).map { $0 > threshold ? $0 - threshold : 0 }
  }

  /// `scores(_:classify:)`, refusing a score that is not finite.
  /// - Parameters:
  ///   - batch: Images, NHWC.
  ///   - classify: The undefended classifier's probabilities.
  /// - Returns: One finite score per image.
  /// - Throws: `DetectorError.scoreCount` for not one score per image, `DetectorError.score`
  ///   for a NaN or infinite score; the errors of `scores`.
  public func checkedScores(_ batch: ImageBatch, classify: Classify) throws -> [Double] {
    let scores = try scores(batch, classify: classify)
    guard scores.count == batch.count else {
      throw DetectorError.scoreCount(
        stage: Self.stageName, expected: batch.count, found: scores.count)
    }
    if let index = scores.firstIndex(where: { !$0.isFinite }) {
      throw DetectorError.score(stage: Self.stageName, image: index, found: "\(scores[index])")
    }
    return scores
  }

  /// Fits the threshold on clean images' scores (see `threshold(flagging:of:)`).
  /// - Parameter cleanScores: The scores of clean images, at least one, all finite.
  /// - Throws: `DetectorError.noImages` for no scores.
  public mutating func fitThreshold(on cleanScores: [Double]) throws {
    threshold = try Self.threshold(flagging: falsePositiveRate, of: cleanScores)
  }

  /// The threshold that flags at most a share `rate` of `scores`: with the n scores sorted
  /// ascending and k = ⌊rate · n⌋, the (n − k)-th smallest. Exactly the k largest lie above it
  /// when they are distinct from it; ties at the threshold are not flagged, so the share
  /// flagged never exceeds `rate`.
  /// - Parameters:
  ///   - rate: The share of clean images that may be flagged, in [0, 1).
  ///   - scores: Clean images' scores, at least one.
  /// - Returns: The threshold.
  /// - Throws: `DetectorError.noImages` for no scores.
  public static func threshold(flagging rate: Double, of scores: [Double]) throws -> Double {
    guard !scores.isEmpty else { throw DetectorError.noImages(stage: stageName) }
    let sorted = scores.sorted()
    let allowed = Int((rate * Double(sorted.count)).rounded(.down))
    return sorted[sorted.count - 1 - min(allowed, sorted.count - 1)]
  }

  /// Writes `{ "threshold": …, "fpr": … }` atomically.
  /// - Parameter url: The model file.
  /// - Throws: `DetectorError.notFitted` without a threshold; file errors.
  public func saveModel(to url: URL) throws {
    guard let threshold else { throw DetectorError.notFitted(stage: Self.stageName) }
    let model = DetectorModel(threshold: threshold, fpr: falsePositiveRate)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(model).write(to: url, options: .atomic)
  }

  /// Reads a model written by `saveModel(to:)`.
  /// - Parameter url: The model file.
  /// - Throws: `DetectorError.model` naming the file when it cannot be read, is not such a
  ///   model, or holds a threshold that is not finite.
  public mutating func loadModel(contentsOf url: URL) throws {
    let model: DetectorModel
    do {
      model = try JSONDecoder().decode(DetectorModel.self, from: Data(contentsOf: url))
    } catch {
      throw DetectorError.model(
        file: url.path, expected: "{ \"threshold\": NUMBER, \"fpr\": NUMBER }",
        found: "\(error)")
    }
    guard model.threshold.isFinite else {
      throw DetectorError.model(
        file: url.path, expected: "a finite threshold", found: "\(model.threshold)")
    }
    threshold = model.threshold
  }

  /// The stage's name in errors: its registered type name, else its Swift type.
  static var stageName: String {
    (self as? any RegisteredDefense.Type)?.typeName ?? String(describing: self)
  }
}

/// A detector's saved model.
struct DetectorModel: Codable {
  /// Images scoring above it are flagged.
  var threshold: Double
  /// The false-positive rate it was fitted for.
  var fpr: Double
}

/// The parameters every built-in detector takes.
public enum DetectorParameter {
  /// The `fpr` parameter: the share of clean images the fitted threshold may flag, in
  /// [0, 1) (default 0.05).
  public static let falsePositiveRate = DefenseParameter<Double>(
    "fpr", default: 0.05, expected: "a number in [0, 1)", accepts: { $0 >= 0 && $0 < 1 })
  /// The `threshold` parameter: a threshold given instead of fitted (optional; a finite
  /// number).
  public static let threshold = DefenseParameter<Double>(
    "threshold", default: 0, expected: "a finite number", accepts: { $0.isFinite })
}
