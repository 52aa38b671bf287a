import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkPipeline
import Foundation

/// `bulwark preprocess`: applies one preprocessor to an NHWC float32 array.
struct PreprocessCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "preprocess",
    abstract: "Apply one preprocessor to an .npy array of images (N x H x W x C float32).",
    discussion: """
      The stage is written as in a pipeline file, for instance \
      --stage '{ type: "spatial-smoothing", window: 3 }'. The output has the input's shape.
      """,
    arguments: [
      ArrayDefenseOptions.stage.definition, inputOption.definition, outputOption.definition,
      .allowExternal, .json,
    ])

  static let inputOption = Option<String>(
    "input", valueName: "X.npy", help: "The images.", isRequired: true)
  static let outputOption = Option<String>(
    "output", valueName: "Y.npy", help: "Where to write the result.", isRequired: true)

  var stage: String
  var input: String
  var output: String
  var allowExternal: Bool
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    stage = try arguments.required(ArrayDefenseOptions.stage)
    input = try arguments.required(Self.inputOption)
    output = try arguments.required(Self.outputOption)
    allowExternal = arguments[.allowExternal]
    json = arguments[.json]
  }

  func run(console: Console) throws {
    let defense = try DefenseRegistry.current.preprocessor(json5: stage)
    try ExternalCommand.requireAllowed(
      [ExternalCommand.of(defense, at: "stage")].compactMap { $0 }, allowed: allowExternal,
      file: "--stage")
    try FileAccess.checkWritable(URL(fileURLWithPath: output))
    let array = try NPYFile.read(from: URL(fileURLWithPath: input))
    guard case .float32(let values) = array.storage, array.shape.count == 4 else {
      throw FormatError(
        file: input, location: .whole, expected: "a float32 array of shape N x H x W x C",
        found: "\(array.shape.count)-D \(array.elementDescription)")
    }
    guard array.shape.dropFirst().allSatisfy({ $0 > 0 }) else {
      throw FormatError(
        file: input, location: .field("shape"), expected: "non-zero H, W and C",
        found: "\(array.shape)")
    }
    try requireFinite(values, file: input)
    let shape = ImageShape(height: array.shape[1], width: array.shape[2], channels: array.shape[3])
    let batch = ImageBatch(
      shape: shape, pixels: values, labels: [Int](repeating: 0, count: array.shape[0]))
    let clock = ContinuousClock()
    let start = clock.now
    let result = try defense.process(batch)
    let seconds = (clock.now - start).inSeconds
    try NPYFile.write(
      NDArray(shape: array.shape, storage: .float32(result.pixels)),
      to: URL(fileURLWithPath: output))
    let report = ArrayDefenseReport(
      input: input, output: output, shape: array.shape, seconds: seconds, abstentions: nil)
    if json {
      try console.printJSON(report)
    } else {
      console.print(
        "Wrote \(output): \(array.shape[0]) images of \(shape), preprocessed in "
          + "\(format(seconds, digits: 3)) s")
    }
  }
}

/// `bulwark postprocess`: applies one postprocessor to an N x classes float32 array.
struct PostprocessCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "postprocess",
    abstract: "Apply one postprocessor to an .npy array of probabilities (N x classes float32).",
    discussion: """
      The stage is written as in a pipeline file, for instance \
      --stage '{ type: "high-confidence", cutoff: 0.3 }'. An all-zero output row is an \
      abstention.
      """,
    arguments: [
      ArrayDefenseOptions.stage.definition, inputOption.definition, outputOption.definition,
      .json,
    ])

  static let inputOption = Option<String>(
    "input", valueName: "P.npy", help: "The probabilities.", isRequired: true)
  static let outputOption = Option<String>(
    "output", valueName: "Q.npy", help: "Where to write the result.", isRequired: true)

  var stage: String
  var input: String
  var output: String
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    stage = try arguments.required(ArrayDefenseOptions.stage)
    input = try arguments.required(Self.inputOption)
    output = try arguments.required(Self.outputOption)
    json = arguments[.json]
  }

  func run(console: Console) throws {
    let defense = try DefenseRegistry.current.postprocessor(json5: stage)
    try FileAccess.checkWritable(URL(fileURLWithPath: output))
    let array = try NPYFile.read(from: URL(fileURLWithPath: input))
    guard case .float32(let values) = array.storage, array.shape.count == 2, array.shape[1] >= 1
    else {
      throw FormatError(
        file: input, location: .whole, expected: "a float32 array of shape N x classes",
        found: "\(array.shape.count)-D \(array.elementDescription)")
    }
    try requireFinite(values, file: input)
    let clock = ContinuousClock()
    let start = clock.now
    let result = try defense.process(
      Probabilities(rows: array.shape[0], columns: array.shape[1], values: values))
    let seconds = (clock.now - start).inSeconds
    try NPYFile.write(
      NDArray(shape: array.shape, storage: .float32(result.values)),
      to: URL(fileURLWithPath: output))
    let report = ArrayDefenseReport(
      input: input, output: output, shape: array.shape, seconds: seconds,
      abstentions: result.abstainedRows.count)
    if json {
      try console.printJSON(report)
    } else {
      console.print(
        "Wrote \(output): \(array.shape[0]) rows of \(array.shape[1]) classes, "
          + "\(result.abstainedRows.count) abstained, postprocessed in "
          + "\(format(seconds, digits: 3)) s")
    }
  }
}

/// What `preprocess` and `postprocess` did, as `--json` prints it.
struct ArrayDefenseReport: Encodable {
  var input: String
  var output: String
  var shape: [Int]
  var seconds: Double
  /// Output rows a postprocessor zeroed; nil for a preprocessor.
  var abstentions: Int?
}

/// Refuses NaN and infinite values before a defense sees them.
func requireFinite(_ values: [Float], file: String) throws(FormatError) {
  if let bad = values.firstIndex(where: { !$0.isFinite }) {
    throw FormatError(
      file: file, location: .field("values"), expected: "finite values",
      found: "\(values[bad]) at flat index \(bad)")
  }
}

/// The option `preprocess` and `postprocess` share.
enum ArrayDefenseOptions {
  /// `--stage JSON5`: the defense, written as in a pipeline file.
  static let stage = Option<String>(
    "stage", valueName: "JSON5", help: "The defense.", isRequired: true)
}
