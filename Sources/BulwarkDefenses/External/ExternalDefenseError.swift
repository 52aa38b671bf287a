/// An external-process defense that failed: it could not start, crashed, exited, timed out, or
/// answered with something other than a batch of the right shape.
public struct ExternalDefenseError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The stage's command line, as written in the pipeline file.
  public var command: String
  /// What went wrong, including the end of the program's standard error when it said anything.
  public var message: String

  /// Creates an error about an external stage.
  /// - Parameters:
  ///   - command: The stage's command line.
  ///   - message: What went wrong.
  public init(command: String, message: String) {
    self.command = command
    self.message = message
  }

  /// `external stage 'python3 blur.py': message`.
  public var description: String { "external stage '\(command)': \(message)" }
}
