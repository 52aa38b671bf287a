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
      BoostPredictCommand.xOption.definition, yOption.definition, outOption.definition,
      validFractionOption.definition, learningRateOption.definition, numLeavesOption.definition,
      maxDepthOption.definition, minDataInLeafOption.definition, lambdaL1Option.definition,
      lambdaL2Option.definition, roundsOption.definition, earlyStoppingOption.definition,
      seedOption.definition, ModelOptions.threads.definition, .json,
    ])

  static let yOption = Option<String>(
    "y", valueName: "Y.npy", help: "Class index of each row.", isRequired: true)
  static let outOption = Option<String>(
    "out", valueName: "MODEL.txt", help: "Where to write the model.", isRequired: true)
  static let validFractionOption = Option(
    "valid-fraction", valueName: "F", help: "Share of rows held out for validation.",
    default: 0.0, in: 0...0.99)
  static let learningRateOption = Option(
    "learning-rate", valueName: "LR", help: "Shrinkage.", default: 0.1, in: 1e-9...1_000)
  static let numLeavesOption = Option(
    "num-leaves", valueName: "N", help: "Leaves per tree.", default: 31, in: 2...131_072)
  static let maxDepthOption = Option(
    "max-depth", valueName: "D", help: "Depth limit; -1 for none.", default: -1, in: -1...1_000)
  static let minDataInLeafOption = Option(
    "min-data-in-leaf", valueName: "N", help: "Rows per leaf at least.", default: 20,
    in: 0...Int.max)
  static let lambdaL1Option = Option(
    "lambda-l1", valueName: "L", help: "L1 regularisation.", default: 0.0, in: 0...1e12)
  static let lambdaL2Option = Option(
    "lambda-l2", valueName: "L", help: "L2 regularisation.", default: 0.0, in: 0...1e12)
  static let roundsOption = Option(
    "rounds", valueName: "R", help: "Boosting rounds.", default: 100, in: 1...1_000_000)
  static let earlyStoppingOption = Option(
    "early-stopping", valueName: "R", help: "Stop after R rounds without improvement.",
    in: 1...1_000_000)
  static let seedOption = Option<UInt64>(
    "seed", valueName: "S", help: "Seed of the validation split and sampling.", default: 0)

  var x: String
  var y: String
  var out: String
  var validFraction: Double
  var parameters: BoostingParameters
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    x = try arguments.required(BoostPredictCommand.xOption)
    y = try arguments.required(Self.yOption)
    out = try arguments.required(Self.outOption)
    validFraction = try arguments.required(Self.validFractionOption)
    var parameters = BoostingParameters()
    parameters.learningRate = try arguments.required(Self.learningRateOption)
    parameters.numLeaves = try arguments.required(Self.numLeavesOption)
    parameters.maxDepth = try arguments.required(Self.maxDepthOption)
    parameters.minDataInLeaf = try arguments.required(Self.minDataInLeafOption)
    parameters.lambdaL1 = try arguments.required(Self.lambdaL1Option)
    parameters.lambdaL2 = try arguments.required(Self.lambdaL2Option)
    parameters.rounds = try arguments.required(Self.roundsOption)
    parameters.earlyStoppingRounds = try arguments.value(Self.earlyStoppingOption) ?? 0
    parameters.seed = try arguments.required(Self.seedOption)
    parameters.threads = try arguments.value(ModelOptions.threads) ?? 0
    if parameters.earlyStoppingRounds > 0 && validFraction == 0 {
      throw UsageError(
        "--early-stopping needs a validation share (--valid-fraction)",
        commandPath: arguments.commandPath)
    }
    self.parameters = parameters
    json = arguments[.json]
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
    try FileAccess.checkWritable(URL(fileURLWithPath: out))
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
