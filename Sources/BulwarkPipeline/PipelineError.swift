/// A problem with a pipeline file, named so a user can fix it:
/// `fashion-mnist.json5: preprocessors[1].qualty: unknown key; did you mean quality?`.
public struct PipelineError: Error, Equatable, CustomStringConvertible {
  /// What a user can do about an error, for the caller to word: a command-line tool names its
  /// flag or command, an app its own control.
  public enum Remedy: Equatable, Sendable {
    /// Allow the stages that run external programs (see `PipelineStage.externalCommand`).
    case allowExternalPrograms
    /// Fit the pipeline's fitted postprocessor, which has no model yet.
    case fit(pipeline: String)
    /// Fit the pipeline's fitted postprocessor again: its model or record does not match.
    case refit(pipeline: String)

    /// The remedy in the library's words.
    public var description: String {
      switch self {
      case .allowExternalPrograms: "allow external programs to run it"
      case .fit(let pipeline): "fit the postprocessors of \(pipeline) first"
      case .refit(let pipeline): "fit the postprocessors of \(pipeline) again"
      }
    }
  }

  /// The pipeline file (or `--stage` for a stage given on the command line).
  public var file: String
  /// Where in the file: a key path (`preprocessors[1].window`) or `line 3, column 7`.
  public var path: String
  /// What is wrong, with the expected and found values.
  public var message: String
  /// What the user can do about it, when it takes an action outside the file.
  public var remedy: Remedy?

  /// Creates an error.
  /// - Parameters:
  ///   - file: The pipeline file.
  ///   - path: A key path or a line and column; empty for the whole file.
  ///   - message: What is wrong.
  ///   - remedy: What the user can do about it, if it takes an action outside the file.
  public init(file: String, path: String, message: String, remedy: Remedy? = nil) {
    self.file = file
    self.path = path
    self.message = message
    self.remedy = remedy
  }

  /// `file: path: message; remedy`, the remedy worded by `word`.
  /// - Parameter word: Words a remedy (default: the library's words).
  /// - Returns: One line.
  public func description(wordingRemedy word: (Remedy) -> String) -> String {
    let located = path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)"
    return remedy.map { located + "; " + word($0) } ?? located
  }

  /// `file: path: message; remedy`.
  public var description: String { description(wordingRemedy: \.description) }
}

/// Every problem found in a pipeline file, so that a user can fix them all in one go.
public struct PipelineErrors: Error, Equatable, CustomStringConvertible {
  /// The problems, in file order where possible.
  public var errors: [PipelineError]

  /// Creates a list of problems.
  /// - Parameter errors: The problems; at least one.
  public init(_ errors: [PipelineError]) {
    self.errors = errors
  }

  /// One problem per line.
  public var description: String { errors.map(\.description).joined(separator: "\n") }
}
