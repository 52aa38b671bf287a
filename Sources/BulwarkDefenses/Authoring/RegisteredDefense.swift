/// A defense that pipeline files can name by its `typeName`: a `RegisteredPreprocessor`, a
/// `RegisteredPostprocessor` or a `RegisteredDetector`, so that one list can hold all three
/// (`BulwarkCommand.main(registering: [MyBlur.self, MyCalibration.self])`).
///
/// Only those three protocols supply `registration` (`DefenseRegistration` has no public
/// initialiser), so a type that is none of them cannot conform: registering it is a compile
/// error.
public protocol RegisteredDefense: Decodable, Sendable {
  /// The stage's `type` in pipeline files, lowercase with hyphens (`spatial-smoothing`).
  static var typeName: String { get }

  /// How a registry builds the defense from a stage; supplied by `RegisteredPreprocessor`,
  /// `RegisteredPostprocessor` and `RegisteredDetector`.
  static var registration: DefenseRegistration { get }

  /// The keys of the stage's entry in pipeline files whose values are paths relative to the
  /// file (a model, a data source such as `pool.npz`): a copy of the entry written elsewhere,
  /// such as the tuner's `best.json5`, makes them absolute (a built-in data set's name stays).
  static var pathKeys: [String] { get }
}

extension RegisteredDefense {
  /// None: the stage's entry names no files.
  public static var pathKeys: [String] { [] }
}

/// How a registry builds a registered defense from a pipeline-file stage: as a preprocessor, a
/// postprocessor or a detector. Made only by `RegisteredPreprocessor`,
/// `RegisteredPostprocessor` and `RegisteredDetector`.
public struct DefenseRegistration: Sendable {
  /// The defense's kind and how to decode it.
  package enum Kind: Sendable {
    /// A preprocessor, decoded from a stage.
    case preprocessor(@Sendable (any Decoder) throws -> any Preprocessor)
    /// A postprocessor, decoded from a stage.
    case postprocessor(@Sendable (any Decoder) throws -> any Postprocessor)
    /// A detector, decoded from a stage.
    case detector(@Sendable (any Decoder) throws -> any Detector)
  }

  /// The defense's kind.
  package let kind: Kind
}

/// A preprocessor that pipeline files can name: `{ type: "spatial-smoothing", window: 3 }`.
///
/// Conform a type of your own, then `try registry.register(MyBlur.self)`; its `init(from:)`
/// reads the stage's other keys (every key it does not ask for is reported as unknown; see
/// `DefenseParameters`).
public protocol RegisteredPreprocessor: Preprocessor, RegisteredDefense {}

/// A postprocessor that pipeline files can name: `{ type: "high-confidence", cutoff: 0.3 }`.
///
/// Conform a type of your own, then `try registry.register(MyCalibration.self)`.
public protocol RegisteredPostprocessor: Postprocessor, RegisteredDefense {}

/// A detector that pipeline files can name: `{ type: "strip", fpr: 0.05 }` in `detectors`.
///
/// Conform a type of your own, then `try registry.register(MyDetector.self)`.
public protocol RegisteredDetector: Detector, RegisteredDefense {}

extension RegisteredPreprocessor {
  /// Built as a preprocessor, with `init(from:)`.
  public static var registration: DefenseRegistration {
    DefenseRegistration(kind: .preprocessor { try Self(from: $0) })
  }
}

extension RegisteredPostprocessor {
  /// Built as a postprocessor, with `init(from:)`.
  public static var registration: DefenseRegistration {
    DefenseRegistration(kind: .postprocessor { try Self(from: $0) })
  }
}

extension RegisteredDetector {
  /// Built as a detector, with `init(from:)`.
  public static var registration: DefenseRegistration {
    DefenseRegistration(kind: .detector { try Self(from: $0) })
  }
}
