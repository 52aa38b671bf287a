import BulwarkBoosting

/// `bulwark bench boost`: training time of the gradient-boosted trees.
struct BenchBoostCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "boost",
    abstract: "Time fitting gradient-boosted trees on seeded synthetic softmax-like features.",
    discussion: """
      Default shape: the CS5260 report's LightGBM fit (9,660 rows x 10 features, 10 classes, \
      81 leaves, 50 rounds, learning rate 0.1) on one thread. Reference: LightGBM 4.7 takes \
      about 0.90 s for it on this machine kind, Python overhead included.
      """,
    arguments: [
      .option("rows", valueName: "N", help: "Rows.", defaultValue: "9660"),
      .option("columns", valueName: "N", help: "Features.", defaultValue: "10"),
      .option("num-leaves", valueName: "N", help: "Leaves per tree.", defaultValue: "81"),
      .option("rounds", valueName: "R", help: "Boosting rounds.", defaultValue: "50"),
      .option("threads", valueName: "N", help: "Threads.", defaultValue: "1"),
      .option("runs", valueName: "N", help: "Timed runs.", defaultValue: "3"),
      .json,
    ])

  var rows: Int
  var columns: Int
  var parameters: BoostingParameters
  var runs: Int
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    rows = try arguments.integer("rows", in: 10...10_000_000) ?? 9_660
    columns = try arguments.integer("columns", in: 2...10_000) ?? 10
    var parameters = BoostingParameters()
    parameters.learningRate = 0.1
    parameters.numLeaves = try arguments.integer("num-leaves", in: 2...131_072) ?? 81
    parameters.rounds = try arguments.integer("rounds", in: 1...100_000) ?? 50
    parameters.threads = try arguments.integer("threads", in: 1...1_024) ?? 1
    self.parameters = parameters
    runs = try arguments.integer("runs", in: 1...100) ?? 3
    json = arguments.flag("json")
  }

  /// The measurement, as `--json` prints it.
  struct Report: Encodable {
    var rows: Int
    var columns: Int
    var numLeaves: Int
    var rounds: Int
    var threads: Int
    var seconds: Double
    var trees: Int
  }

  func run(console: Console) throws {
    var trees = 0
    let (seconds, _) = try Stopwatch.median(runs: runs) {
      let (seconds, model) = try BoostedTrees.benchmark(
        rows: rows, columns: columns, parameters: parameters)
      trees = model.iterationCount * model.classes
      return seconds
    }
    let report = Report(
      rows: rows, columns: columns, numLeaves: parameters.numLeaves, rounds: parameters.rounds,
      threads: parameters.threads, seconds: seconds, trees: trees)
    if json {
      try console.printJSON(report)
    } else {
      console.print(
        "fit \(rows) x \(columns), \(parameters.numLeaves) leaves, \(parameters.rounds) rounds, "
          + "\(parameters.threads) thread(s): \(format(seconds, digits: 3)) s "
          + "(\(trees) trees, median of \(runs))")
    }
  }
}
