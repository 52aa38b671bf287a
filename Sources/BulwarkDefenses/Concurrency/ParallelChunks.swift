import Dispatch
import Foundation

/// Runs independent pieces of work (images, or rows of probabilities) on several threads.
///
/// Work is cut into fixed chunks and every item is computed the same way whichever thread takes
/// it, so results never depend on the thread count.
enum ParallelChunks {
  /// The number of threads used when a defense is not told otherwise: every active core.
  static var defaultThreadCount: Int { ProcessInfo.processInfo.activeProcessorCount }

  /// Calls `body` on consecutive ranges covering `0..<count`, each at most `chunkSize` long,
  /// spread over at most `threads` threads (worker `w` takes chunks `w`, `w + threads`, …).
  static func run(
    count: Int, chunkSize: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void
  ) {
    guard count > 0 else { return }
    let chunks = (count + chunkSize - 1) / chunkSize
    let workers = max(1, min(threads, chunks))
    if workers == 1 {
      body(0..<count)
      return
    }
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      var chunk = worker
      while chunk < chunks {
        let start = chunk * chunkSize
        body(start..<min(count, start + chunkSize))
        chunk += workers
      }
    }
  }
}

/// A mutable buffer handed to parallel workers that write disjoint ranges of it.
struct SharedBuffer<Element>: @unchecked Sendable {
  let base: UnsafeMutablePointer<Element>
}
