import BulwarkData
import BulwarkDefenses

/// Maps the `type` names of pipeline files to defenses.
///
/// `DefenseRegistry.standard` holds Bulwark's built-ins. A user's own Swift type registers the
/// same way (`try registry.register(MyBlur.self)`); a defense that is not a Swift type (one run
/// in another process, say) registers a factory with `register(preprocessorNamed:make:)`.
public struct DefenseRegistry: Sendable {
  /// Builds a preprocessor from a stage's decoder (which also holds its `type` key).
  public typealias PreprocessorFactory = @Sendable (any Decoder) throws -> any Preprocessor
  /// Builds a postprocessor from a stage's decoder (which also holds its `type` key).
  public typealias PostprocessorFactory = @Sendable (any Decoder) throws -> any Postprocessor
  /// Builds a detector from a stage's decoder (which also holds its `type` key).
  public typealias DetectorFactory = @Sendable (any Decoder) throws -> any Detector

  private var preprocessors: [String: PreprocessorFactory] = [:]
  private var postprocessors: [String: PostprocessorFactory] = [:]
  private var detectors: [String: DetectorFactory] = [:]
  private var pathKeys: [String: [String]] = [:]

  /// Creates an empty registry.
  public init() {}

  /// The built-in defenses: spatial-smoothing, jpeg-compression, feature-squeezing,
  /// total-variation-minimization, autoencoder, external (a program in another process);
  /// high-confidence, reverse-sigmoid, rounded, class-labels, gaussian-noise,
  /// distribution-classifier; and the detectors squeezing-detector, strip, magnet,
  /// binary-input-detector.
  public static let standard: DefenseRegistry = {
    let builtIns: [any RegisteredDefense.Type] = [
      SpatialSmoothing.self, JPEGCompression.self, FeatureSqueezing.self,
      TotalVariationMinimization.self, AutoencoderPurification.self, ExternalProcessDefense.self,
      HighConfidence.self, ReverseSigmoid.self, Rounded.self, ClassLabels.self,
      GaussianNoise.self, DistributionClassifier.self, SqueezingDetector.self,
      STRIPDetector.self, MagNetDetector.self, BinaryInputDetector.self,
    ]
    var registry = DefenseRegistry()
    // The built-in names are distinct, so registration cannot fail.
    for type in builtIns { try? registry.register(type) }
    return registry
  }()

  /// The registry in force: `standard` unless a caller (such as
  /// `BulwarkCommand.main(registering:)`, for a user's own defenses) binds another with
  /// `DefenseRegistry.$current.withValue(registry) { … }`. Pipeline loading and every command
  /// read it.
  @TaskLocal public static var current: DefenseRegistry = .standard

  /// The registered preprocessor names, sorted.
  public var preprocessorNames: [String] { preprocessors.keys.sorted() }
  /// The registered postprocessor names, sorted.
  public var postprocessorNames: [String] { postprocessors.keys.sorted() }
  /// The registered detector names, sorted.
  public var detectorNames: [String] { detectors.keys.sorted() }

  /// Registers a defense type under its `typeName`, as a preprocessor, a postprocessor or a
  /// detector by its kind.
  /// - Parameter type: The type; its `init(from:)` reads the stage's parameters.
  /// - Throws: `PipelineError` when the name is already registered.
  public mutating func register(_ type: any RegisteredDefense.Type) throws(PipelineError) {
    switch type.registration.kind {
    case .preprocessor(let make): try register(preprocessorNamed: type.typeName, make: make)
    case .postprocessor(let make): try register(postprocessorNamed: type.typeName, make: make)
    case .detector(let make): try register(detectorNamed: type.typeName, make: make)
    }
    pathKeys[type.typeName] = type.pathKeys
  }

  /// The keys of a registered type's entries whose values are paths relative to the pipeline
  /// file (`RegisteredDefense.pathKeys`); none for a factory or an unknown name.
  /// - Parameter name: A stage's `type`.
  /// - Returns: The keys.
  public func pathKeys(ofType name: String) -> [String] { pathKeys[name] ?? [] }

  /// Registers a preprocessor built by a factory (for defenses that are not Swift types).
  /// - Parameters:
  ///   - name: The stage's `type` in pipeline files.
  ///   - make: Builds the defense from the stage's decoder.
  /// - Throws: `PipelineError` when the name is already registered.
  public mutating func register(
    preprocessorNamed name: String, make: @escaping PreprocessorFactory
  ) throws(PipelineError) {
    try checkFree(name)
    preprocessors[name] = make
  }

  /// Registers a postprocessor built by a factory (for defenses that are not Swift types).
  /// - Parameters:
  ///   - name: The stage's `type` in pipeline files.
  ///   - make: Builds the defense from the stage's decoder.
  /// - Throws: `PipelineError` when the name is already registered.
  public mutating func register(
    postprocessorNamed name: String, make: @escaping PostprocessorFactory
  ) throws(PipelineError) {
    try checkFree(name)
    postprocessors[name] = make
  }

  /// Registers a detector built by a factory (for detectors that are not Swift types).
  /// - Parameters:
  ///   - name: The stage's `type` in pipeline files.
  ///   - make: Builds the detector from the stage's decoder.
  /// - Throws: `PipelineError` when the name is already registered.
  public mutating func register(
    detectorNamed name: String, make: @escaping DetectorFactory
  ) throws(PipelineError) {
    try checkFree(name)
    detectors[name] = make
  }

  private func checkFree(_ name: String) throws(PipelineError) {
    if preprocessors[name] != nil || postprocessors[name] != nil || detectors[name] != nil {
      throw PipelineError(
        file: "registry", path: name, message: "a defense with this name is already registered")
    }
  }

  /// The preprocessor factory for `name`.
  /// - Parameter name: A stage's `type`.
  /// - Returns: The factory.
  /// - Throws: `UnknownType`, whose message lists the registered names with a suggestion.
  func preprocessorFactory(_ name: String) throws(UnknownType) -> PreprocessorFactory {
    if let make = preprocessors[name] { return make }
    throw unknown(name, kind: "preprocessor", names: preprocessorNames)
  }

  /// The postprocessor factory for `name`.
  func postprocessorFactory(_ name: String) throws(UnknownType) -> PostprocessorFactory {
    if let make = postprocessors[name] { return make }
    throw unknown(name, kind: "postprocessor", names: postprocessorNames)
  }

  /// The detector factory for `name`.
  func detectorFactory(_ name: String) throws(UnknownType) -> DetectorFactory {
    if let make = detectors[name] { return make }
    throw unknown(name, kind: "detector", names: detectorNames)
  }

  /// A stage type that is not registered, as a message.
  struct UnknownType: Error {
    var message: String
  }

  private func unknown(_ name: String, kind: String, names: [String]) -> UnknownType {
    let kinds = [
      ("preprocessor", preprocessors[name] != nil), ("postprocessor", postprocessors[name] != nil),
      ("detector", detectors[name] != nil),
    ]
    if let otherKind = kinds.first(where: { $0.1 && $0.0 != kind })?.0 {
      return UnknownType(
        message: "'\(name)' is a \(otherKind); move it to the \(otherKind)s list")
    }
    var message = "unknown \(kind) '\(name)'"
    if let suggestion = closestMatch(to: name, among: names) {
      message += "; did you mean \(suggestion)?"
    }
    message += " (registered: \(names.joined(separator: ", ")))"
    return UnknownType(message: message)
  }
}
