/// A command line that does not fit the command's declaration; `bulwark` exits with status 2.
public struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What is wrong, in one sentence.
  public var message: String
  /// The full name of the command whose usage was broken (`bulwark data info`).
  public var commandPath: String

  /// Creates a usage error.
  /// - Parameters:
  ///   - message: What is wrong, in one sentence.
  ///   - commandPath: The full name of the command, for the `--help` hint.
  public init(_ message: String, commandPath: String = "bulwark") {
    self.message = message
    self.commandPath = commandPath
  }

  /// The message followed by where to find help.
  public var description: String {
    "\(message)\nSee '\(commandPath) --help'."
  }
}
