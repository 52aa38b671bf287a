/// The status the `bulwark` process exits with.
package struct ExitCode: Error, Equatable, Sendable {
  /// The numeric status.
  package var rawValue: Int32

  /// Creates an exit code with the given status.
  package init(_ rawValue: Int32) { self.rawValue = rawValue }

  /// The command did what was asked.
  package static let success = ExitCode(0)
  /// The command failed: bad input, a failed check, an I/O error.
  package static let failure = ExitCode(1)
  /// The command line itself was wrong.
  package static let usage = ExitCode(2)
}
