import BulwarkDefenses

/// A defense that pipeline files can name by its `typeName`: a `RegisteredPreprocessor` or a
/// `RegisteredPostprocessor`, so that one list can hold both
/// (`BulwarkCommand.main(registering: [MyBlur.self, MyCalibration.self])`).
public protocol RegisteredDefense: Decodable {
  /// The stage's `type` in pipeline files, lowercase with hyphens (`spatial-smoothing`).
  static var typeName: String { get }
}

/// A preprocessor that pipeline files can name: `{ type: "spatial-smoothing", window: 3 }`.
///
/// Conform a type of your own, then `try registry.register(MyBlur.self)`; its `init(from:)`
/// reads the stage's other keys (every key it does not ask for is reported as unknown).
public protocol RegisteredPreprocessor: Preprocessor, RegisteredDefense {}

/// A postprocessor that pipeline files can name: `{ type: "high-confidence", cutoff: 0.3 }`.
///
/// Conform a type of your own, then `try registry.register(MyCalibration.self)`.
public protocol RegisteredPostprocessor: Postprocessor, RegisteredDefense {}

extension SpatialSmoothing: RegisteredPreprocessor {}
extension JPEGCompression: RegisteredPreprocessor {}
extension FeatureSqueezing: RegisteredPreprocessor {}
extension TotalVariationMinimization: RegisteredPreprocessor {}
extension ExternalProcessDefense: RegisteredPreprocessor {}
extension HighConfidence: RegisteredPostprocessor {}
extension ReverseSigmoid: RegisteredPostprocessor {}
extension Rounded: RegisteredPostprocessor {}
extension ClassLabels: RegisteredPostprocessor {}
extension GaussianNoise: RegisteredPostprocessor {}
extension DistributionClassifier: RegisteredPostprocessor {}
