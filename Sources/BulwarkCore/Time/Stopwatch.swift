/// Times repeated runs of a piece of work and reports their median: the timing loop of every
/// `bulwark bench` measurement.
package enum Stopwatch {
  /// Runs `work` once to warm up, then `runs` times, and returns the median seconds of a run.
  /// - Parameters:
  ///   - runs: Timed runs after the warm-up.
  ///   - work: The work; it returns a checksum so that the optimiser cannot drop it.
  /// - Returns: The median seconds and the last checksum.
  package static func median(
    runs: Int, _ work: () throws -> Double
  ) rethrows -> (seconds: Double, checksum: Double) {
    precondition(runs > 0)
    var checksum = try work()
    let clock = ContinuousClock()
    var times: [Double] = []
    for _ in 0..<runs {
      let start = clock.now
      checksum = try work()
      times.append((clock.now - start).inSeconds)
    }
    times.sort()
    return (times[times.count / 2], checksum)
  }
}
