/// A defense that pipeline files can name by its `typeName`: a `RegisteredPreprocessor` or a
/// `RegisteredPostprocessor`, so that one list can hold both
/// (`BulwarkCommand.main(registering: [MyBlur.self, MyCalibration.self])`).
///
/// Only those two protocols supply `registration` (`DefenseRegistration` has no public
/// initialiser), so a type that is neither a preprocessor nor a postprocessor cannot conform:
/// registering it is a compile error.
public protocol RegisteredDefense: Decodable, Sendable {
  /// The stage's `type` in pipeline files, lowercase with hyphens (`spatial-smoothing`).
  static var typeName: String { get }

  /// How a registry builds the defense from a stage; supplied by `RegisteredPreprocessor` and
  /// `RegisteredPostprocessor`.
  static var registration: DefenseRegistration { get }
}

/// How a registry builds a registered defense from a pipeline-file stage: as a preprocessor or
/// as a postprocessor. Made only by `RegisteredPreprocessor` and `RegisteredPostprocessor`.
public struct DefenseRegistration: Sendable {
  /// The defense's kind and how to decode it.
  package enum Kind: Sendable {
    /// A preprocessor, decoded from a stage.
    case preprocessor(@Sendable (any Decoder) throws -> any Preprocessor)
    /// A postprocessor, decoded from a stage.
    case postprocessor(@Sendable (any Decoder) throws -> any Postprocessor)
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
