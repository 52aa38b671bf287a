import BulwarkCore

/// A failure the user of the boosting learner can cause: a parameter out of range, inputs of the
/// wrong size or with non-finite values, or a malformed LightGBM `model.txt`.
public enum BoostingError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A training parameter is outside its valid range.
  case invalidParameter(name: String, expected: String, found: String)
  /// A training or prediction input (features, labels, sizes) is unusable.
  case invalidInput(field: String, expected: String, found: String)
  /// A model file does not follow LightGBM's `model.txt` format; `file` is its path (or
  /// `model text` for text handed over directly), `line` counts from 1.
  case malformedModel(file: String, line: Int, field: String, expected: String, found: String)
  /// A model file could not be read or written.
  case fileAccess(FileAccessError)

  /// A one-line message naming what was wrong, where, what was expected and what was found.
  public var description: String {
    switch self {
    case .invalidParameter(let name, let expected, let found):
      return "boosting parameter \(name): expected \(expected), found \(found)"
    case .invalidInput(let field, let expected, let found):
      return "boosting input \(field): expected \(expected), found \(found)"
    case .malformedModel(let file, let line, let field, let expected, let found):
      return "\(file) line \(line), \(field): expected \(expected), found \(found)"
    case .fileAccess(let error):
      return error.description
    }
  }
}
