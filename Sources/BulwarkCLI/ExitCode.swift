/// The status the `bulwark` process exits with.
public struct ExitCode: Error, Equatable, Sendable {
  /// The numeric status.
  public var rawValue: Int32

  /// Creates an exit code with the given status.
  public init(_ rawValue: Int32) { self.rawValue = rawValue }

  /// The command did what was asked.
  public static let success = ExitCode(0)
  /// The command failed: bad input, a failed check, an I/O error.
  public static let failure = ExitCode(1)
  /// The command line itself was wrong.
  public static let usage = ExitCode(2)
}
