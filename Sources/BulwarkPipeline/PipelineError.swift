/// A problem with a pipeline file, named so a user can fix it:
/// `fashion-mnist.json5: preprocessors[1].qualty: unknown key; did you mean quality?`.
public struct PipelineError: Error, Equatable, CustomStringConvertible {
  /// The pipeline file (or `--stage` for a stage given on the command line).
  public var file: String
  /// Where in the file: a key path (`preprocessors[1].window`) or `line 3, column 7`.
  public var path: String
  /// What is wrong, with the expected and found values.
  public var message: String

  /// Creates an error.
  /// - Parameters:
  ///   - file: The pipeline file.
  ///   - path: A key path or a line and column; empty for the whole file.
  ///   - message: What is wrong.
  public init(file: String, path: String, message: String) {
    self.file = file
    self.path = path
    self.message = message
  }

  /// `file: path: message`.
  public var description: String {
    path.isEmpty ? "\(file): \(message)" : "\(file): \(path): \(message)"
  }
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
