import Foundation

@testable import BulwarkCLI

/// Output captured from an in-process run.
final class CapturedConsole: @unchecked Sendable {
  private let lock = NSLock()
  private var output = ""
  private var error = ""

  var console: Console {
    Console(showsProgress: false) { stream, text in
      self.lock.withLock {
        if stream == .output { self.output += text } else { self.error += text }
      }
    }
  }

  var standardOutput: String { lock.withLock { output } }
  var standardError: String { lock.withLock { error } }
}
