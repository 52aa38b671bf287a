/// A command of the `bulwark` tool: declared by its configuration, built from parsed arguments,
/// and run.
///
/// This keeps swift-argument-parser's shape (one type per subcommand, `run() throws`, generated
/// help) without the dependency.
package protocol ParsableCommand: Sendable {
  /// The command's name, help text, arguments and subcommands.
  static var configuration: CommandConfiguration { get }

  /// Creates the command from the command line.
  /// - Throws: `UsageError` when a value is missing or malformed.
  init(arguments: ParsedArguments) throws(UsageError)

  /// Does the command's work, writing results to `console`.
  /// - Throws: Any error, reported as a failure (exit status 1); `UsageError` exits with 2.
  func run(console: Console) throws
}
