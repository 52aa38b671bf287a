import Dispatch
import Foundation
import Synchronization

/// Bulwark's one parallel loop: independent items spread over threads, so that results never
/// depend on the thread count (each item writes only its own outputs; reductions happen after,
/// in a fixed order).
package enum Parallel {
  /// The threads used when a caller is not told otherwise: every active core.
  package static var defaultThreadCount: Int { ProcessInfo.processInfo.activeProcessorCount }

  /// The number of workers `forEach(_:workers:_:)` uses for `count` items on `threads` threads.
  package static func workerCount(_ count: Int, threads: Int) -> Int {
    max(1, min(threads, count))
  }

  /// Runs `body(worker, item)` for every item of `0..<count` on `workers` threads; on the
  /// calling thread when `workers <= 1`. Worker `w` takes item `w` first, then whichever item
  /// no worker has taken yet, so that a worker slowed down (a busy core) takes fewer items
  /// instead of holding the others up. Which worker runs an item never changes its result:
  /// `worker` only picks per-worker scratch.
  /// - Parameters:
  ///   - count: The items.
  ///   - workers: The threads.
  ///   - body: Called with the worker's index (for per-worker scratch) and the item.
  package static func forEach(
    _ count: Int, workers: Int, _ body: @Sendable (_ worker: Int, _ item: Int) -> Void
  ) {
    if workers <= 1 {
      for item in 0..<count { body(0, item) }
      return
    }
    let next = Atomic<Int>(workers)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      var item = worker
      while item < count {
        body(worker, item)
        item = next.wrappingAdd(1, ordering: .relaxed).oldValue
      }
    }
  }

  /// Calls `body` on consecutive ranges covering `0..<count`, each at most `chunkSize` long,
  /// spread over at most `threads` threads.
  /// - Parameters:
  ///   - count: The items.
  ///   - chunkSize: Items per chunk, at least 1.
  ///   - threads: The most threads to use.
  ///   - body: Called with each chunk's range.
  package static func forEachChunk(
    count: Int, chunkSize: Int, threads: Int, _ body: @Sendable (Range<Int>) -> Void
  ) {
    guard count > 0 else { return }
    let chunks = (count + chunkSize - 1) / chunkSize
    forEach(chunks, workers: workerCount(chunks, threads: threads)) { _, chunk in
      let start = chunk * chunkSize
      body(start..<min(count, start + chunkSize))
    }
  }
}
