import Dispatch

/// A pointer handed to worker threads that write disjoint ranges of it.
struct SharedPointer<Element>: @unchecked Sendable {
  let base: UnsafeMutablePointer<Element>
}

/// The number of workers ``parallelForEach(_:workers:_:)`` uses for `count` items.
func workerCount(_ count: Int, threads: Int) -> Int { max(1, min(threads, count)) }

/// Runs `body(worker, item)` for every item of `0..<count` on `workers` threads, worker `w`
/// taking items `w`, `w + workers`, …; each item must write only its own outputs, so the
/// result is the same for every thread count.
func parallelForEach(_ count: Int, workers: Int, _ body: @Sendable (Int, Int) -> Void) {
  if workers <= 1 {
    for item in 0..<count { body(0, item) }
    return
  }
  DispatchQueue.concurrentPerform(iterations: workers) { worker in
    var item = worker
    while item < count {
      body(worker, item)
      item += workers
    }
  }
}
