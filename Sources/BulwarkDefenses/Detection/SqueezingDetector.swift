import BulwarkData

/// Feature-squeezing detection (Xu et al., NDSS 2018): an image is suspicious when the
/// classifier's probabilities move much once the image is squeezed. Its score is the largest L1
/// distance between the probabilities on the image and on each squeezed version: reduced to
/// `bitDepth` bits (`FeatureSqueezing`) and median-filtered in a `window` x `window` window
/// (`SpatialSmoothing`). The paper's CIFAR-10 squeezers are the defaults (5 bits, a 2x2
/// median); 0 bits or a window of 1 leaves that squeezer out.
///
/// In a pipeline file: `detectors: [ { type: "squeezing-detector", bitDepth: 5, window: 2,
/// fpr: 0.05, fit: { clean: "fashion-mnist:train", limit: 2000 } } ]`.
public struct SqueezingDetector: RegisteredDetector {
  /// The name of this detector in pipeline files.
  public static let typeName = "squeezing-detector"

  /// The `bitDepth` parameter: bits the first squeezer keeps, 1...16, or 0 for no bit-depth
  /// squeezer (default 5).
  public static let bitDepthParameter = DefenseParameter(
    "bitDepth", default: 5, expected: "an integer in 0...16 (0: no bit-depth squeezer)",
    accepts: { (0...16).contains($0) })
  /// The `window` parameter: the median filter's side, 2...255, or 1 for no median squeezer
  /// (default 2).
  public static let windowParameter = DefenseParameter(
    "window", default: 2, expected: "an integer in 1...255 (1: no median squeezer)",
    accepts: { (1...255).contains($0) })
  /// The `clipValues` parameter: the images' range the bit depth spans (default [0, 1]).
  public static let clipValuesParameter = DefenseParameter(range: "clipValues", default: .unit)

  /// Bits the bit-depth squeezer keeps (0: none).
  public let bitDepth: Int
  /// The median filter's side (1: none).
  public let window: Int
  /// The images' range.
  public let clipValues: ValueRange
  /// The share of clean images the fitted threshold may flag.
  public let falsePositiveRate: Double
  /// Images scoring above it are flagged; nil until fitted.
  public var threshold: Double?
  /// The squeezers, in order.
  private let squeezers: [any Preprocessor]

  /// Creates the detector.
  /// - Parameters:
  ///   - bitDepth: Bits kept, 0...16 (0: no bit-depth squeezer).
  ///   - window: The median window, 1...255 (1: no median squeezer).
  ///   - clipValues: The images' range.
  ///   - falsePositiveRate: The share of clean images the threshold may flag, in [0, 1).
  ///   - threshold: A threshold given instead of fitted.
  /// - Throws: `DefenseParameterError` for a parameter out of range, or for no squeezer at
  ///   all.
  public init(
    bitDepth: Int = Self.bitDepthParameter.defaultValue,
    window: Int = Self.windowParameter.defaultValue, clipValues: ValueRange = .unit,
    falsePositiveRate: Double = DetectorParameter.falsePositiveRate.defaultValue,
    threshold: Double? = nil
  ) throws(DefenseParameterError) {
    self.bitDepth = try Self.bitDepthParameter.validated(bitDepth, stage: Self.typeName)
    self.window = try Self.windowParameter.validated(window, stage: Self.typeName)
    self.clipValues = try Self.clipValuesParameter.validated(clipValues, stage: Self.typeName)
    self.falsePositiveRate = try DetectorParameter.falsePositiveRate.validated(
      falsePositiveRate, stage: Self.typeName)
    self.threshold = try threshold.map { value throws(DefenseParameterError) in
      try DetectorParameter.threshold.validated(value, stage: Self.typeName)
    }
    var squeezers: [any Preprocessor] = []
    if bitDepth > 0 {
      squeezers.append(try FeatureSqueezing(bitDepth: bitDepth, clipValues: clipValues))
    }
    if window > 1 { squeezers.append(try SpatialSmoothing(window: window)) }
    guard !squeezers.isEmpty else {
      throw DefenseParameterError(
        stage: Self.typeName, parameter: Self.windowParameter.key,
        expected: "at least one squeezer (a window above 1 or a bit depth above 0)",
        found: "window 1 and bit depth 0")
    }
    self.squeezers = squeezers
  }

  /// Decodes `{ bitDepth: 5, window: 2, clipValues: [0, 1], fpr: 0.05, threshold: 0.3 }`;
  /// every key is optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for values
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      bitDepth: parameters.value(Self.bitDepthParameter),
      window: parameters.value(Self.windowParameter),
      clipValues: parameters.value(Self.clipValuesParameter),
      falsePositiveRate: parameters.value(DetectorParameter.falsePositiveRate),
      threshold: parameters.valueIfPresent(DetectorParameter.threshold))
  }

  /// The largest L1 distance between the probabilities on each image and on its squeezed
  /// versions.
  /// - Parameters:
  ///   - batch: Images, NHWC.
  ///   - classify: The undefended classifier's probabilities.
  /// - Returns: One score per image, in [0, 2].
  /// - Throws: The errors of the squeezers and of `classify`.
  public func scores(_ batch: ImageBatch, classify: Classify) throws -> [Double] {
    guard batch.count > 0 else { return [] }
    let original = try classify(batch)
    let classes = original.count / batch.count
    var scores = [Double](repeating: 0, count: batch.count)
    for squeezer in squeezers {
      let squeezed = try classify(try squeezer.process(batch))
      for image in scores.indices {
        var distance = 0.0
        for column in image * classes..<(image + 1) * classes {
          distance += Double(abs(original[column] - squeezed[column]))
        }
        // NaN wins, so that `checkedScores` refuses it rather than a comparison hiding it.
        if !(distance <= scores[image]) { scores[image] = distance }
      }
    }
    return scores
  }

  /// The settings the threshold depends on.
  public var fitConfiguration: [String: String] {
    [
      "fpr": "\(falsePositiveRate)", "bitDepth": "\(bitDepth)", "window": "\(window)",
      "clipValues": "\(clipValues)",
    ]
  }
}
