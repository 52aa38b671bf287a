import Dispatch

/// A pointer handed to worker threads that write disjoint ranges of it.
struct SharedPointer<Element>: @unchecked Sendable {
  let base: UnsafeMutablePointer<Element>
}

/// Runs `body(0..<count)` on up to `threads` threads, worker `w` taking items `w`, `w +
/// threads`, …; each item must write only its own outputs, so the result is the same for every
/// thread count.
func parallelForEach(_ count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
  let workers = min(threads, count)
  if workers <= 1 {
    for item in 0..<count { body(item) }
    return
  }
  DispatchQueue.concurrentPerform(iterations: workers) { worker in
    var item = worker
    while item < count {
      body(item)
      item += workers
    }
  }
}
