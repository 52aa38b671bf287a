import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import Foundation

/// A network trained to tell clean images from adversarial ones (ART's `BinaryInputDetector`;
/// Metzen et al., ICLR 2017, on the input): Bulwark trains a two-class CNN (`arch`, LeNet-5 by
/// default) on the fit's clean images (class 0) and adversarial images (class 1), and the score
/// is its probability of class 1.
///
/// Where Bulwark differs from ART: ART flags an image when the network's argmax is class 1;
/// Bulwark fits a threshold on the probability for a false-positive rate like every detector,
/// on a share of the clean fit images the network did not learn from (`calibration`, the last
/// quarter by default), so that the rate holds for new images.
///
/// In a pipeline file: `{ type: "binary-input-detector", epochs: 5, fpr: 0.05, fit: { clean:
/// "fashion-mnist:train", adversarial: { attack: { method: "pgd", eps: 0.1 } }, limit: 5000 }
/// }`; `bulwark fit` saves the network with its threshold in its metadata
/// (`<pipeline>.binary-input-detector.safetensors`).
public struct BinaryInputDetector: RegisteredDetector {
  /// The name of this detector in pipeline files.
  public static let typeName = "binary-input-detector"
  /// The architectures it can train, by `arch` name.
  static let architectures: [String: Architecture] = [
    "lenet5": .lenet5(classes: 2), "rgb-cnn": .rgbCNN(classes: 2),
  ]

  /// The `arch` parameter: `lenet5` (28x28 grey, the default) or `rgb-cnn` (64x64 colour).
  public static let architectureParameter = DefenseParameter(
    "arch", default: "lenet5", expected: "lenet5 or rgb-cnn",
    accepts: { architectures[$0] != nil })
  /// The `epochs` parameter: 1...1,000 (default 5).
  public static let epochsParameter = DefenseParameter("epochs", default: 5, in: 1...1_000)
  /// The `batchSize` parameter: 1...65,536 (default 64).
  public static let batchSizeParameter = DefenseParameter("batchSize", default: 64, in: 1...65_536)
  /// The `learningRate` parameter: Adam's, in (0, 1] (default 0.001).
  public static let learningRateParameter = DefenseParameter<Double>(
    "learningRate", default: 0.001, expected: "a number in (0, 1]",
    accepts: { $0 > 0 && $0 <= 1 })
  /// The `calibration` parameter: the share of clean fit images kept for the threshold, in
  /// (0, 1) (default 0.25).
  public static let calibrationParameter = DefenseParameter<Double>(
    "calibration", default: 0.25, expected: "a number in (0, 1)", accepts: { $0 > 0 && $0 < 1 })
  /// The `seed` parameter: seeds the network's weights and the training's shuffles (default
  /// 0).
  public static let seedParameter = DefenseParameter<UInt64>(
    "seed", default: 0, expected: "an integer >= 0")

  /// The metadata key of the saved threshold.
  static let thresholdKey = "bulwark.detector.threshold"
  /// The metadata key of the false-positive rate it was fitted for.
  static let rateKey = "bulwark.detector.fpr"

  /// The architecture's name.
  public let architectureName: String
  /// Training epochs.
  public let epochs: Int
  /// Images per training step.
  public let batchSize: Int
  /// Adam's learning rate.
  public let learningRate: Double
  /// The share of clean fit images kept for the threshold.
  public let calibration: Double
  /// Seeds the weights and the shuffles.
  public let seed: UInt64
  /// The share of clean images the fitted threshold may flag.
  public let falsePositiveRate: Double
  /// Images scoring above it are flagged; nil until fitted.
  public var threshold: Double?
  /// The trained network; nil until fitted.
  public private(set) var network: Network?
  /// Compute settings for training and scoring.
  public var options = ComputeOptions()

  /// Creates an untrained detector.
  /// - Parameters:
  ///   - architecture: `lenet5` or `rgb-cnn`.
  ///   - epochs: Training epochs, 1...1,000.
  ///   - batchSize: Images per step, 1...65,536.
  ///   - learningRate: Adam's, in (0, 1].
  ///   - calibration: The share of clean fit images kept for the threshold, in (0, 1).
  ///   - seed: Seeds the weights and the shuffles.
  ///   - falsePositiveRate: The share of clean images the threshold may flag, in [0, 1).
  /// - Throws: `DefenseParameterError` for a parameter out of range.
  public init(
    architecture: String = Self.architectureParameter.defaultValue,
    epochs: Int = Self.epochsParameter.defaultValue,
    batchSize: Int = Self.batchSizeParameter.defaultValue,
    learningRate: Double = Self.learningRateParameter.defaultValue,
    calibration: Double = Self.calibrationParameter.defaultValue, seed: UInt64 = 0,
    falsePositiveRate: Double = DetectorParameter.falsePositiveRate.defaultValue
  ) throws(DefenseParameterError) {
    architectureName = try Self.architectureParameter.validated(architecture, stage: Self.typeName)
    self.epochs = try Self.epochsParameter.validated(epochs, stage: Self.typeName)
    self.batchSize = try Self.batchSizeParameter.validated(batchSize, stage: Self.typeName)
    self.learningRate = try Self.learningRateParameter.validated(
      learningRate, stage: Self.typeName)
    self.calibration = try Self.calibrationParameter.validated(calibration, stage: Self.typeName)
    self.seed = seed
    self.falsePositiveRate = try DetectorParameter.falsePositiveRate.validated(
      falsePositiveRate, stage: Self.typeName)
  }

  /// Decodes `{ arch: "lenet5", epochs: 5, batchSize: 64, learningRate: 0.001,
  /// calibration: 0.25, seed: 0, fpr: 0.05 }`; every key is optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for values
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      architecture: parameters.value(Self.architectureParameter),
      epochs: parameters.value(Self.epochsParameter),
      batchSize: parameters.value(Self.batchSizeParameter),
      learningRate: parameters.value(Self.learningRateParameter),
      calibration: parameters.value(Self.calibrationParameter),
      seed: parameters.value(Self.seedParameter),
      falsePositiveRate: parameters.value(DetectorParameter.falsePositiveRate))
  }

  /// The architecture it trains.
  public var architecture: Architecture { Self.architectures[architectureName] ?? .lenet5() }

  /// Whether it has a network and a threshold.
  public var isFitted: Bool { network != nil && threshold != nil }

  /// True: it learns from adversarial images.
  public var learnsFromAdversarialImages: Bool { true }

  /// `safetensors`: the network, with the threshold in its metadata.
  public static var modelFileExtension: String { "safetensors" }

  /// Trains the network on the clean images but the last `calibration` share (class 0) and on
  /// every adversarial image (class 1).
  /// - Parameters:
  ///   - clean: The clean fit images.
  ///   - adversarial: The adversarial fit images.
  ///   - classify: Unused.
  /// - Returns: The clean images kept for the threshold.
  /// - Throws: `ModelError` for images of another shape than the architecture's; training
  ///   errors.
  public mutating func learn(clean: ImageBatch, adversarial: ImageBatch, classify: Classify)
    throws -> ImageBatch
  {
    let kept = max(1, Int((Double(clean.count) * calibration).rounded()))
    let learnt = max(0, clean.count - kept)
    var training = clean.selecting(0..<learnt)
    training.pixels += adversarial.pixels
    training.labels =
      [Int](repeating: 0, count: learnt) + [Int](repeating: 1, count: adversarial.count)
    training.classNames = ["clean", "adversarial"]
    let trainer = Trainer(batchSize: batchSize, seed: seed)
    let settings = TrainingCheckpoint.Settings(
      data: "clean and adversarial fit images", seed: seed, batchSize: batchSize,
      optimizer: "adam lr=\(learningRate)")
    network =
      try trainer.train(
        architecture, optimizer: Adam(learningRate: Float(learningRate)), data: training,
        validation: nil, epochs: epochs, settings: settings, checkpoint: nil, options: options
      ).network
    threshold = nil
    return clean.selecting(learnt..<clean.count)
  }

  /// The network's probability that each image is adversarial.
  /// - Parameters:
  ///   - batch: Images of the architecture's input shape.
  ///   - classify: Unused: the detector has its own network.
  /// - Returns: One probability per image.
  /// - Throws: `DetectorError.notFitted` without a network; `ModelError` for images it cannot
  ///   take.
  public func scores(_ batch: ImageBatch, classify: Classify) throws -> [Double] {
    guard let network else { throw DetectorError.notFitted(stage: Self.typeName) }
    let probabilities = Network.softmax(try network.logits(batch), classes: 2)
    return (0..<batch.count).map { Double(probabilities[$0 * 2 + 1]) }
  }

  /// The input gradient of the network's probability of class 1: on its logits,
  /// `p₀ p₁ · (−1, +1)`, then back through the network.
  /// - Parameters:
  ///   - batch: Images of the architecture's input shape.
  ///   - classify: Unused.
  /// - Returns: One value per pixel value, NHWC.
  /// - Throws: As `scores(_:classify:)`.
  public func scoreGradient(_ batch: ImageBatch, classify: Classify) throws -> [Float]? {
    guard let network else { throw DetectorError.notFitted(stage: Self.typeName) }
    let probabilities = Network.softmax(try network.logits(batch), classes: 2)
    let logitGradient = (0..<batch.count).flatMap { image -> [Float] in
      let product = probabilities[image * 2] * probabilities[image * 2 + 1]
      return [-product, product]
    }
    return try network.inputGradient(batch, logitGradient: logitGradient)
  }

  /// Writes the network with the threshold in its metadata (atomically).
  /// - Parameter url: The model file.
  /// - Throws: `DetectorError.notFitted` before fitting; file errors.
  public func saveModel(to url: URL) throws {
    guard let network, let threshold else { throw DetectorError.notFitted(stage: Self.typeName) }
    try network.write(
      to: url,
      metadata: [Self.thresholdKey: "\(threshold)", Self.rateKey: "\(falsePositiveRate)"])
  }

  /// Reads a model written by `saveModel(to:)`.
  /// - Parameter url: The model file.
  /// - Throws: `DetectorError.model` naming the file when it is not a two-class network of the
  ///   stage's architecture with a finite threshold; format errors.
  public mutating func loadModel(contentsOf url: URL) throws {
    let file = try SafeTensorsFile(contentsOf: url)
    let network = try Network(safeTensors: file, options: options)
    guard network.architecture == architecture else {
      throw DetectorError.model(
        file: url.path, expected: "the \(architectureName) architecture with 2 classes",
        found: "another architecture")
    }
    guard let text = file.metadata[Self.thresholdKey], let value = Double(text), value.isFinite
    else {
      throw DetectorError.model(
        file: url.path, expected: "a finite threshold in __metadata__.\(Self.thresholdKey)",
        found: file.metadata[Self.thresholdKey] ?? "none")
    }
    self.network = network
    threshold = value
  }

  /// The settings the model depends on.
  public var fitConfiguration: [String: String] {
    [
      "fpr": "\(falsePositiveRate)", "arch": architectureName, "epochs": "\(epochs)",
      "batchSize": "\(batchSize)", "learningRate": "\(learningRate)",
      "calibration": "\(calibration)", "seed": "\(seed)",
    ]
  }
}
