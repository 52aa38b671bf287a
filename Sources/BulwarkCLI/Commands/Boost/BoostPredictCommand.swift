import BulwarkBoosting
import BulwarkCore
import BulwarkData
import Foundation

/// `bulwark boost predict`: class probabilities from a model.txt.
struct BoostPredictCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "predict",
    abstract: "Predict class probabilities (N x K float64 .npy) with a model.txt.",
    arguments: [modelOption.definition, xOption.definition, outOption.definition, .json])

  static let modelOption = Option<String>(
    "model", valueName: "MODEL.txt", help: "A model fitted here or by LightGBM.",
    isRequired: true)
  static let xOption = Option<String>(
    "x", valueName: "X.npy", help: "Features, rows x columns.", isRequired: true)
  static let outOption = Option<String>(
    "out", valueName: "P.npy", help: "Where to write the probabilities.", isRequired: true)

  var model: String
  var x: String
  var out: String
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    model = try arguments.required(Self.modelOption)
    x = try arguments.required(Self.xOption)
    out = try arguments.required(Self.outOption)
    json = arguments[.json]
  }

  /// What was written, as `--json` prints it.
  struct Report: Encodable {
    var rows: Int
    var classes: Int
    var out: String
  }

  func run(console: Console) throws {
    try FileAccess.checkWritable(URL(fileURLWithPath: out))
    let trees = try BoostedTrees(contentsOf: URL(fileURLWithPath: model))
    let matrix = try FeatureMatrix(npy: x)
    let probabilities = try trees.probabilities(matrix.values, rows: matrix.rows)
    let array = NDArray(shape: [matrix.rows, trees.classes], storage: .float64(probabilities))
    try NPYFile.write(array, to: URL(fileURLWithPath: out))
    let report = Report(rows: matrix.rows, classes: trees.classes, out: out)
    if json {
      try console.printJSON(report)
    } else {
      console.print("Wrote \(matrix.rows) x \(trees.classes) probabilities to \(out)")
    }
  }
}
