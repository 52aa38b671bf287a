import BulwarkBoosting
import BulwarkCore
import BulwarkData
import Foundation

/// `bulwark boost fit`: fits multiclass gradient-boosted trees and writes a model.txt.
struct BoostFitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "fit",
    abstract: "Fit multiclass gradient-boosted trees (softmax objective) on a feature matrix.",
    discussion: """
      --x is a 2-D .npy (rows x features), --y a 1-D .npy of class indices. With \
      --valid-fraction, a seeded, stratified share of the rows is held out for validation \
      (multi_logloss), and --early-stopping R stops after R rounds without improvement. \
      Without sampling options, the trees are LightGBM 4.7's, split for split.
      """,
    arguments: [
      .option("x", valueName: "X.npy", help: "Features, rows x columns.", isRequired: true),
      .option("y", valueName: "Y.npy", help: "Class index of each row.", isRequired: true),
      .option("out", valueName: "MODEL.txt", help: "Where to write the model.", isRequired: true),
      .option(
        "valid-fraction", valueName: "F", help: "Share of rows held out for validation.",
        defaultValue: "0"),
      .option("learning-rate", valueName: "LR", help: "Shrinkage.", defaultValue: "0.1"),
      .option("num-leaves", valueName: "N", help: "Leaves per tree.", defaultValue: "31"),
      .option("max-depth", valueName: "D", help: "Depth limit; -1 for none.", defaultValue: "-1"),
      .option(
        "min-data-in-leaf", valueName: "N", help: "Rows per leaf at least.",
        defaultValue: "20"),
      .option("lambda-l1", valueName: "L", help: "L1 regularisation.", defaultValue: "0"),
      .option("lambda-l2", valueName: "L", help: "L2 regularisation.", defaultValue: "0"),
      .option("rounds", valueName: "R", help: "Boosting rounds.", defaultValue: "100"),
      .option("early-stopping", valueName: "R", help: "Stop after R rounds without improvement."),
      .option(
        "seed", valueName: "S", help: "Seed of the validation split and sampling.",
        defaultValue: "0"),
      .option("threads", valueName: "N", help: "Threads (default: all cores)."),
      .json,
    ])

  var x: String
  var y: String
  var out: String
  var validFraction: Double
  var parameters: BoostingParameters
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    x = try arguments.required("x")
    y = try arguments.required("y")
    out = try arguments.required("out")
    validFraction = try arguments.double("valid-fraction", in: 0...0.99) ?? 0
    var parameters = BoostingParameters()
    parameters.learningRate = try arguments.double("learning-rate", in: 1e-9...1_000) ?? 0.1
    parameters.numLeaves = try arguments.integer("num-leaves", in: 2...131_072) ?? 31
    parameters.maxDepth = try arguments.integer("max-depth", in: -1...1_000) ?? -1
    parameters.minDataInLeaf = try arguments.integer("min-data-in-leaf", in: 0...Int.max) ?? 20
    parameters.lambdaL1 = try arguments.double("lambda-l1", in: 0...1e12) ?? 0
    parameters.lambdaL2 = try arguments.double("lambda-l2", in: 0...1e12) ?? 0
    parameters.rounds = try arguments.integer("rounds", in: 1...1_000_000) ?? 100
    parameters.earlyStoppingRounds = try arguments.integer("early-stopping", in: 1...1_000_000) ?? 0
    parameters.seed = try arguments.seed() ?? 0
    parameters.threads = try arguments.integer("threads", in: 1...1_024) ?? 0
    if parameters.earlyStoppingRounds > 0 && validFraction == 0 {
      throw UsageError(
        "--early-stopping needs a validation share (--valid-fraction)",
        commandPath: arguments.commandPath)
    }
    self.parameters = parameters
    json = arguments.flag("json")
  }

  /// The fit's outcome, as `--json` prints it.
  struct Report: Encodable {
    var rows: Int
    var validationRows: Int
    var features: Int
    var classes: Int
    var iterations: Int
    var bestIteration: Int?
    var trainingAccuracy: Double
    var validationAccuracy: Double?
    var validationLogLoss: Double?
    var seconds: Double
    var out: String
  }

  func run(console: Console) throws {
    let matrix = try FeatureMatrix(npy: x)
    let labels = try readLabels(npy: y, count: matrix.rows)
    let classes = (labels.max() ?? 0) + 1
    let clock = ContinuousClock()
    let start = clock.now
    var lastLoss: Double?
    let (model, split) = try BoostedTrees.fit(
      features: matrix.values, rows: matrix.rows, columns: matrix.columns, labels: labels,
      classes: classes, parameters: parameters, validFraction: validFraction
    ) { iteration, loss in
      lastLoss = loss ?? lastLoss
      console.progress("round \(iteration)/\(parameters.rounds)")
    }
    console.endProgress()
    let seconds = (clock.now - start).inSeconds
    try model.write(to: URL(fileURLWithPath: out))
    func accuracy(_ indices: [Int]) throws -> Double? {
      guard !indices.isEmpty else { return nil }
      return try model.accuracy(
        features: indices.flatMap {
          matrix.values[$0 * matrix.columns..<($0 + 1) * matrix.columns]
        }, labels: indices.map { labels[$0] })
    }
    let report = Report(
      rows: split.training.count, validationRows: split.validation.count,
      features: matrix.columns,
      classes: classes, iterations: model.iterationCount, bestIteration: model.bestIteration,
      trainingAccuracy: try accuracy(split.training) ?? 0,
      validationAccuracy: try accuracy(split.validation),
      validationLogLoss: lastLoss, seconds: seconds, out: out)
    if json {
      try console.printJSON(report)
      return
    }
    console.print(
      "Fitted \(report.iterations) rounds x \(classes) trees on \(report.rows) rows of "
        + "\(report.features) features in \(format(seconds, digits: 2)) s")
    console.print("Training accuracy:   \(format(100 * report.trainingAccuracy, digits: 2))%")
    if let validationAccuracy = report.validationAccuracy {
      console.print(
        "Validation accuracy: \(format(100 * validationAccuracy, digits: 2))% on "
          + "\(report.validationRows) rows")
    }
    if let best = report.bestIteration { console.print("Best iteration:      \(best)") }
    console.print("Wrote \(out)")
  }
}
