import Foundation

/// Where a command writes: results to standard output, diagnostics and progress to standard error.
///
/// Progress lines appear only when standard error is a terminal, so logs and pipes stay clean.
package struct Console: Sendable {
  /// The stream a piece of text goes to.
  package enum Stream: Sendable {
    /// Standard output: results.
    case output
    /// Standard error: diagnostics and progress.
    case error
  }

  private let write: @Sendable (Stream, String) -> Void
  /// Whether progress lines are shown (standard error is a terminal).
  package let showsProgress: Bool

  /// Creates a console that hands every piece of text to `write`.
  /// - Parameters:
  ///   - showsProgress: Whether progress lines are shown.
  ///   - write: Receives each piece of text and the stream it belongs to.
  package init(showsProgress: Bool, write: @escaping @Sendable (Stream, String) -> Void) {
    self.showsProgress = showsProgress
    self.write = write
  }

  /// The process's standard output and standard error.
  package static let standard = Console(showsProgress: isatty(STDERR_FILENO) == 1) {
    stream, text in
    let handle = stream == .output ? FileHandle.standardOutput : FileHandle.standardError
    do {
      try handle.write(contentsOf: Data(text.utf8))
    } catch {
      // The reader went away (`bulwark score … | head`). SIGPIPE would end the process here,
      // but external stages ignore it so that a dying program cannot kill Bulwark: stop the
      // same way instead of crashing.
      exit(ExitCode.failure.rawValue)
    }
  }

  /// Writes a line of results to standard output.
  package func print(_ line: String = "") { write(.output, line + "\n") }

  /// Writes a line of diagnostics to standard error.
  package func printError(_ line: String) { write(.error, line + "\n") }

  /// Overwrites the progress line on standard error when it is a terminal; does nothing
  /// otherwise.
  package func progress(_ line: String) {
    if showsProgress { write(.error, "\r\u{1B}[K" + line) }
  }

  /// Ends the progress line, if one is shown.
  package func endProgress() {
    if showsProgress { write(.error, "\r\u{1B}[K") }
  }

  /// Writes `value` as pretty-printed JSON with sorted keys to standard output.
  /// - Throws: `EncodingError` when the value cannot be encoded (a non-finite number).
  package func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    write(.output, String(decoding: data, as: UTF8.self) + "\n")
  }
}
