import BulwarkBoosting
import BulwarkCore

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
      rowsOption.definition, columnsOption.definition, numLeavesOption.definition,
      roundsOption.definition, threadsOption.definition, runsOption.definition, .json,
    ])

  static let rowsOption = Option(
    "rows", valueName: "N", help: "Rows.", default: 9_660, in: 10...10_000_000)
  static let columnsOption = Option(
    "columns", valueName: "N", help: "Features.", default: 10, in: 2...10_000)
  static let numLeavesOption = Option(
    "num-leaves", valueName: "N", help: "Leaves per tree.", default: 81, in: 2...131_072)
  static let roundsOption = Option(
    "rounds", valueName: "R", help: "Boosting rounds.", default: 50, in: 1...100_000)
  static let threadsOption = Option(
    "threads", valueName: "N", help: "Threads.", default: 1, in: 1...1_024)
  static let runsOption = Option(
    "runs", valueName: "N", help: "Timed runs.", default: 3, in: 1...100)

  var rows: Int
  var columns: Int
  var parameters: BoostingParameters
  var runs: Int
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    rows = try arguments.required(Self.rowsOption)
    columns = try arguments.required(Self.columnsOption)
    var parameters = BoostingParameters()
    parameters.learningRate = 0.1
    parameters.numLeaves = try arguments.required(Self.numLeavesOption)
    parameters.rounds = try arguments.required(Self.roundsOption)
    parameters.threads = try arguments.required(Self.threadsOption)
    self.parameters = parameters
    runs = try arguments.required(Self.runsOption)
    json = arguments[.json]
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
