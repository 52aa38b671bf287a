import BulwarkData
import BulwarkDefenses
import Foundation

/// MagNet's detector (Meng and Chen, CCS 2017): an autoencoder trained on clean images
/// reconstructs them well and reconstructs inputs off their manifold badly, so the
/// reconstruction error flags adversarial inputs. The score is the mean absolute error between
/// an image and its reconstruction (`norm: 1`, the paper's MNIST detector) or its root mean
/// square (`norm: 2`), over every value.
///
/// The autoencoder is the one `bulwark train --arch autoencoder` trains and the `autoencoder`
/// preprocessor runs (`AutoencoderPurification`); a pipeline can use the same file for both,
/// MagNet's detector-and-reformer pair. In a pipeline file: `{ type: "magnet", autoencoder:
/// "models/autoencoder-fashion.safetensors", norm: 1, fpr: 0.05, fit: { clean: … } }` (its
/// `model` key is where `bulwark fit` keeps the threshold, as for every fitted stage).
public struct MagNetDetector: RegisteredDetector {
  /// The name of this detector in pipeline files.
  public static let typeName = "magnet"
  /// `autoencoder`, a path relative to the pipeline file.
  public static var pathKeys: [String] { [autoencoderParameter.key] }

  /// The `autoencoder` parameter: the autoencoder's Bulwark model file (required).
  public static let autoencoderParameter = DefenseParameter(
    "autoencoder", default: "", expected: "the path of an autoencoder model file",
    accepts: { !$0.isEmpty })
  /// The `norm` parameter: 1 (mean absolute error, the default) or 2 (root mean square).
  public static let normParameter = DefenseParameter(
    "norm", default: 1, expected: "1 or 2", accepts: { $0 == 1 || $0 == 2 })

  /// The autoencoder.
  public private(set) var autoencoder: AutoencoderPurification
  /// 1 or 2.
  public let norm: Int
  /// The share of clean images the fitted threshold may flag.
  public let falsePositiveRate: Double
  /// Images scoring above it are flagged; nil until fitted.
  public var threshold: Double?

  /// Creates the detector.
  /// - Parameters:
  ///   - autoencoder: The autoencoder (a file, or a network in memory).
  ///   - norm: 1 or 2.
  ///   - falsePositiveRate: The share of clean images the threshold may flag, in [0, 1).
  ///   - threshold: A threshold given instead of fitted.
  /// - Throws: `DefenseParameterError` for a parameter out of range.
  public init(
    autoencoder: AutoencoderPurification, norm: Int = Self.normParameter.defaultValue,
    falsePositiveRate: Double = DetectorParameter.falsePositiveRate.defaultValue,
    threshold: Double? = nil
  ) throws(DefenseParameterError) {
    self.autoencoder = autoencoder
    self.norm = try Self.normParameter.validated(norm, stage: Self.typeName)
    self.falsePositiveRate = try DetectorParameter.falsePositiveRate.validated(
      falsePositiveRate, stage: Self.typeName)
    self.threshold = try threshold.map { value throws(DefenseParameterError) in
      try DetectorParameter.threshold.validated(value, stage: Self.typeName)
    }
  }

  /// Decodes `{ autoencoder: "models/autoencoder.safetensors", norm: 1, fpr: 0.05,
  /// threshold: 0.1 }`; `autoencoder` is required.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type or a missing model,
  ///   `DefenseParameterError` for values out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      autoencoder: AutoencoderPurification(
        modelPath: parameters.required(Self.autoencoderParameter)),
      norm: parameters.value(Self.normParameter),
      falsePositiveRate: parameters.value(DetectorParameter.falsePositiveRate),
      threshold: parameters.valueIfPresent(DetectorParameter.threshold))
  }

  /// The stage with its model file resolved against the pipeline file's folder.
  /// - Parameter folder: The pipeline file's folder.
  /// - Returns: The stage.
  public func resolvingRelativePaths(against folder: URL) -> MagNetDetector {
    var stage = self
    stage.autoencoder = autoencoder.resolvingRelativePaths(against: folder)
    return stage
  }

  /// The model file, whose bytes sets made against the pipeline depend on.
  public var inputFiles: [URL] { autoencoder.inputFiles }

  /// The stage with its network read and checked.
  /// - Returns: The stage.
  /// - Throws: `AutoencoderError` for a model it cannot use.
  public func loadingFiles() throws -> MagNetDetector {
    var stage = self
    stage.autoencoder = try autoencoder.loadingModel()
    return stage
  }

  /// The reconstruction error of every image.
  /// - Parameters:
  ///   - batch: Images, NHWC, of the autoencoder's input shape.
  ///   - classify: Unused: MagNet's detector reads no classifier.
  /// - Returns: One score per image.
  /// - Throws: `AutoencoderError` for an unusable model or a batch of another shape.
  public func scores(_ batch: ImageBatch, classify: Classify) throws -> [Double] {
    errors(of: batch, reconstructed: try autoencoder.process(batch).pixels)
  }

  /// The reconstruction error of every image, given its reconstruction.
  private func errors(of batch: ImageBatch, reconstructed: [Float]) -> [Double] {
    let size = batch.shape.valueCount
    return (0..<batch.count).map { image in
      var total = 0.0
      for index in image * size..<(image + 1) * size {
        let difference = Double(batch.pixels[index] - reconstructed[index])
        total += norm == 1 ? abs(difference) : difference * difference
      }
      let mean = total / Double(max(size, 1))
      return norm == 1 ? mean : mean.squareRoot()
    }
  }

  /// The score's input gradient, through the autoencoder: with d = x − r(x) over D values,
  /// `(u − J_rᵀ u) / D` for u = sign(d) (norm 1), or for u = d / s (norm 2, s the score).
  /// - Parameters:
  ///   - batch: Images, NHWC, of the autoencoder's input shape.
  ///   - classify: Unused.
  /// - Returns: One value per pixel value, NHWC.
  /// - Throws: As `scores(_:classify:)`.
  public func scoreGradient(_ batch: ImageBatch, classify: Classify) throws -> [Float]? {
    let reconstructed = try autoencoder.process(batch).pixels
    let size = batch.shape.valueCount
    let scores = errors(of: batch, reconstructed: reconstructed)
    var upstream = [Float](repeating: 0, count: batch.pixels.count)
    for image in 0..<batch.count {
      for index in image * size..<(image + 1) * size {
        let difference = batch.pixels[index] - reconstructed[index]
        upstream[index] =
          norm == 1
          ? (difference > 0 ? 1 : difference < 0 ? -1 : 0)
          : scores[image] > 0 ? difference / Float(scores[image]) : 0
      }
    }
    let through = try autoencoder.backward(gradient: upstream, input: batch)
    let scale = 1 / Float(max(size, 1))
    return zip(upstream, through).map { ($0 - $1) * scale }
  }

  /// The settings the threshold depends on.
  public var fitConfiguration: [String: String] {
    // The resolved file, so that the same file named from another folder is the same setting.
    [
      "fpr": "\(falsePositiveRate)", "norm": "\(norm)",
      "autoencoder": autoencoder.modelFile?.path ?? autoencoder.modelPath,
    ]
  }
}
