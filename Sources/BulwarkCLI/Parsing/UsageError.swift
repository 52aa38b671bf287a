/// A command line that does not fit the command's declaration; `bulwark` exits with status 2.
package struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What is wrong, in one sentence.
  package var message: String
  /// The full name of the command whose usage was broken (`bulwark data info`).
  package var commandPath: String

  /// Creates a usage error.
  /// - Parameters:
  ///   - message: What is wrong, in one sentence.
  ///   - commandPath: The full name of the command, for the `--help` hint.
  package init(_ message: String, commandPath: String = "bulwark") {
    self.message = message
    self.commandPath = commandPath
  }

  /// The message followed by where to find help.
  package var description: String {
    "\(message)\nSee '\(commandPath) --help'."
  }
}
