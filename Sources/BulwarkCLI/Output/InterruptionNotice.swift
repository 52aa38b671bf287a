import Dispatch
import Foundation

/// What a long command says when the user interrupts it (Ctrl-C, SIGINT) or the system stops it
/// (SIGTERM): how to continue, since its finished work is on disk. The process then ends with
/// the shell's convention for a signal, 128 + the signal's number.
struct InterruptionNotice: ~Copyable {
  private let sources: [any DispatchSourceSignal]

  /// Starts telling `console` the `notice` on SIGINT or SIGTERM until the value is dropped.
  /// - Parameters:
  ///   - notice: The lines to print (`interrupted; continue with …`).
  ///   - console: Where the notice goes (standard error).
  init(_ notice: String, console: Console) {
    sources = [SIGINT, SIGTERM].map { number in
      // The default action would end the process before the handler runs.
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler {
        console.endProgress()
        console.printError(notice)
        exit(128 + number)
      }
      source.resume()
      return source
    }
  }

  deinit {
    for source in sources { source.cancel() }
    signal(SIGINT, SIG_DFL)
    signal(SIGTERM, SIG_DFL)
  }
}
