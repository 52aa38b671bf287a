import BulwarkCore

extension BoostedTrees {
  /// Times one `fit` on seeded synthetic softmax-like data (each row: uniform noise with the
  /// label's column raised by 0.6, normalised to sum 1), the shape of the spec's anchor
  /// (9,660 x 10, LightGBM 4.7 at 0.90 s on one thread with 81 leaves and 50 rounds).
  /// - Parameters:
  ///   - rows: Training rows.
  ///   - columns: Features, which are also the classes.
  ///   - parameters: Training parameters (set `threads` to compare with LightGBM's one thread).
  ///   - seed: Seed of the synthetic data.
  /// - Returns: Wall-clock seconds of the fit and the trained model (a checksum for callers).
  /// - Throws: `BoostingError` when the parameters or sizes are invalid.
  public static func benchmark(
    rows: Int, columns: Int, parameters: BoostingParameters, seed: UInt64 = 0
  ) throws(BoostingError) -> (seconds: Double, model: BoostedTrees) {
    guard rows >= 1, columns >= 2 else {
      throw .invalidInput(
        field: "benchmark shape", expected: "rows >= 1 and columns >= 2",
        found: "\(rows) x \(columns)")
    }
    var generator = SeededGenerator(seed: seed)
    var x: [Double] = []
    x.reserveCapacity(rows * columns)
    var y: [Int] = []
    for _ in 0..<rows {
      let label = Int(generator.next() % UInt64(columns))
      var row = (0..<columns).map { _ in generator.unitDouble() }
      row[label] += 0.6
      let sum = row.reduce(0, +)
      x += row.map { $0 / sum }
      y.append(label)
    }
    let clock = ContinuousClock()
    let start = clock.now
    let model = try fit(
      features: x, rows: rows, columns: columns, labels: y, classes: columns,
      parameters: parameters)
    let seconds = (clock.now - start).inSeconds
    return (seconds, model)
  }
}
