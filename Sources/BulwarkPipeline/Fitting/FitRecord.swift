import BulwarkCore
import BulwarkDefenses
import Foundation

/// What a fitted stage was fitted on, written beside its model as `<model>.fit.json`: the
/// stage and the settings its model depends on (`FittedStage.fitConfiguration`),
/// the sources, image counts, and a 64-bit fingerprint of every image (see
/// `ImageBatch.fingerprints()`), so that scoring can refuse to evaluate on those images and
/// refuse a model fitted with other settings.
///
/// Fingerprints are stored compactly: base64 of the little-endian 8-byte values.
public struct FitRecord: Codable, Equatable, Sendable {
  /// The stage's type name (`distribution-classifier`).
  public var stage: String
  /// The settings the model depends on, by name (see `FittedStage.fitConfiguration`).
  public var configuration: [String: String]
  /// Classifier passes per image (1 for a detector).
  public var passes: Int
  /// The clean source, as written (nil: none).
  public var cleanSource: String?
  /// The adversarial source or attack, as written (nil: none).
  public var adversarialSource: String?
  /// Clean images fitted on.
  public var cleanCount: Int
  /// Adversarial images fitted on.
  public var adversarialCount: Int
  /// The share of fit images the fitted pipeline classifies correctly; for a detector, the
  /// share of the clean images its threshold was fitted on that it lets through.
  public var trainingAccuracy: Double
  /// Seconds spent computing passes and fitting.
  public var seconds: Double
  /// Base64 of the clean images' fingerprints.
  public var cleanFingerprints: String
  /// Base64 of the adversarial images' fingerprints.
  public var adversarialFingerprints: String

  /// The fingerprints as base64 of their little-endian bytes.
  /// - Parameter fingerprints: The values.
  /// - Returns: The text.
  public static func encode(_ fingerprints: [UInt64]) -> String {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(fingerprints.count * 8)
    for value in fingerprints {
      for shift in stride(from: 0, to: 64, by: 8) {
        bytes.append(UInt8(truncatingIfNeeded: value >> shift))
      }
    }
    return Data(bytes).base64EncodedString()
  }

  /// Reads fingerprints written by `encode(_:)`.
  /// - Parameter text: The base64 text.
  /// - Returns: The values, or nil for text that is not base64 of whole 8-byte values.
  public static func decode(_ text: String) -> [UInt64]? {
    guard let data = Data(base64Encoded: text), data.count % 8 == 0 else { return nil }
    let bytes = [UInt8](data)
    return stride(from: 0, to: bytes.count, by: 8).map { first in
      (0..<8).reduce(UInt64(0)) { value, offset in
        value | UInt64(bytes[first + offset]) << (8 * UInt64(offset))
      }
    }
  }

  /// Reads a record file.
  /// - Parameter url: The file.
  /// - Throws: A `PipelineError` naming the file when it is missing or malformed.
  public init(contentsOf url: URL) throws(PipelineError) {
    let data: Data
    do {
      data = try FileAccess.contents(of: url)
    } catch {
      throw PipelineError(file: url.path, path: "", message: "cannot read: \(error.reason)")
    }
    do {
      self = try JSONDecoder().decode(FitRecord.self, from: data)
    } catch {
      throw PipelineError(
        file: url.path, path: "", message: "cannot read the fit record (\(error))")
    }
  }

  /// Creates the record of a fitted stage; see the properties.
  /// - Parameters:
  ///   - stage: The fitted stage.
  ///   - cleanSource: The clean source, as written (nil: none).
  ///   - adversarialSource: The adversarial source or attack, as written (nil: none).
  ///   - cleanFingerprints: The clean images' fingerprints.
  ///   - adversarialFingerprints: The adversarial images' fingerprints.
  ///   - trainingAccuracy: The fitted pipeline's accuracy on the fit images (for a detector,
  ///     the share of the clean images its threshold was fitted on that it lets through).
  ///   - seconds: Seconds spent computing passes and fitting.
  public init(
    stage: any FittedStage, cleanSource: String?, adversarialSource: String?,
    cleanFingerprints: [UInt64], adversarialFingerprints: [UInt64], trainingAccuracy: Double,
    seconds: Double
  ) {
    self.stage = Pipeline.name(of: stage)
    self.configuration = stage.fitConfiguration
    self.passes = (stage as? any FittedPostprocessor)?.passesPerImage ?? 1
    self.cleanSource = cleanSource
    self.adversarialSource = adversarialSource
    self.cleanCount = cleanFingerprints.count
    self.adversarialCount = adversarialFingerprints.count
    self.trainingAccuracy = trainingAccuracy
    self.seconds = seconds
    self.cleanFingerprints = Self.encode(cleanFingerprints)
    self.adversarialFingerprints = Self.encode(adversarialFingerprints)
  }

  /// The settings in which `stage` differs from the ones the model was fitted with, as
  /// `name recorded → asked` phrases (empty when it may use the model).
  /// - Parameter stage: The fitted stage about to use the model.
  /// - Returns: One phrase per differing setting, sorted by name.
  public func differences(from stage: any FittedStage) -> [String] {
    let asked = stage.fitConfiguration
    return Set(configuration.keys).union(asked.keys).sorted().compactMap { name in
      let (recorded, wanted) = (configuration[name], asked[name])
      guard recorded != wanted else { return nil }
      return "\(name) \(recorded ?? "unset") (the stage asks for \(wanted ?? "none"))"
    }
  }

  /// Both fit sets' fingerprints.
  /// - Throws: A `PipelineError` naming `file` when either is not base64 of 8-byte values.
  func fingerprints(file: URL) throws(PipelineError) -> (clean: [UInt64], adversarial: [UInt64]) {
    guard let clean = Self.decode(cleanFingerprints),
      let adversarial = Self.decode(adversarialFingerprints)
    else {
      throw PipelineError(file: file.path, path: "", message: "malformed fingerprints")
    }
    return (clean, adversarial)
  }

  /// Writes the record, pretty-printed, to a temporary file renamed into place.
  /// - Parameter url: The file.
  /// - Throws: Encoding errors; `FileAccessError` when the file cannot be written.
  public func write(to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try FileAccess.write(encoder.encode(self), to: url)
  }
}
