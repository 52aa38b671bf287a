/// Times repeated runs of a piece of work and reports their median: the timing loop of every
/// `bulwark bench` measurement.
package enum Stopwatch {
  /// Runs `work` once to warm up, then `runs` times, and returns the median seconds of a run.
  ///
  /// Work that takes microseconds is timed over repeated calls: each run calls `work` until
  /// `secondsPerRun` have passed and counts the mean seconds of a call, so that the clock's
  /// resolution and one-off stalls do not dominate the figure.
  /// - Parameters:
  ///   - runs: Timed runs after the warm-up.
  ///   - secondsPerRun: The least time a run lasts, repeating `work` as often as that takes
  ///     (0: one call per run).
  ///   - work: The work; it returns a checksum so that the optimiser cannot drop it.
  /// - Returns: The median seconds of one call of `work`, and the last checksum.
  package static func median(
    runs: Int, secondsPerRun: Double = 0, _ work: () throws -> Double
  ) rethrows -> (seconds: Double, checksum: Double) {
    precondition(runs > 0)
    var checksum = try work()
    let clock = ContinuousClock()
    var times: [Double] = []
    for _ in 0..<runs {
      let start = clock.now
      var calls = 0
      var elapsed = 0.0
      repeat {
        checksum = try work()
        calls += 1
        elapsed = (clock.now - start).inSeconds
      } while elapsed < secondsPerRun
      times.append(elapsed / Double(calls))
    }
    times.sort()
    return (times[times.count / 2], checksum)
  }
}
