import BulwarkCore
import BulwarkData
import BulwarkModel
import Foundation

/// `bulwark evaluate`: a frozen classifier's accuracy on an image set.
struct EvaluateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "evaluate",
    abstract: "Measure a classifier's accuracy, per-class accuracy and confusion matrix.",
    arguments: [
      ModelOptions.model.definition, dataOption.definition, ModelOptions.labels.definition,
      limitOption.definition, logitsOption.definition, ModelOptions.threads.definition, .json,
    ])

  static let dataOption = Option<String>(
    "data", valueName: "SOURCE", help: "The labelled images.", isRequired: true)
  static let limitOption = Option(
    "limit", valueName: "N", help: "Evaluate on the first N images only.", in: 1...Int.max)
  static let logitsOption = Option<String>(
    "logits", valueName: "OUT.npy", help: "Save the raw outputs (N x classes float32).")

  var model: String
  var data: String
  var labels: String?
  var limit: Int?
  var logits: String?
  var threads: Int?
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    model = try arguments.required(ModelOptions.model)
    data = try arguments.required(Self.dataOption)
    labels = try arguments.value(ModelOptions.labels)
    limit = try arguments.value(Self.limitOption)
    logits = try arguments.value(Self.logitsOption)
    threads = try arguments.value(ModelOptions.threads)
    json = arguments[.json]
  }

  /// The evaluation, as `--json` prints it.
  struct Report: Encodable {
    struct Class: Encodable {
      var index: Int
      var name: String
      var count: Int
      var correct: Int
      var accuracy: Double
    }
    var model: String
    var data: String
    var count: Int
    var correct: Int
    var accuracy: Double
    var classes: [Class]
    /// Rows are true classes, columns predicted classes.
    var confusionMatrix: [[Int]]
  }

  func run(console: Console) throws {
    if let logits { try FileAccess.checkWritable(URL(fileURLWithPath: logits)) }
    let network = try loadClassifier(
      contentsOf: URL(fileURLWithPath: model), options: ComputeOptions(threads: threads))
    let source = try DataSource(data, labels: labels)
    var batch = try matchingModelClasses(
      source.load(), from: data, model: URL(fileURLWithPath: model))
    if let limit { batch = batch.prefix(limit) }
    let classes = network.classCount
    try network.check(batch, from: data)
    let outputs = try network.logits(batch)
    if let logits {
      let array = NDArray(shape: [batch.count, classes], storage: .float32(outputs))
      try NPYFile.write(array, to: URL(fileURLWithPath: logits))
    }
    let confusion = ConfusionMatrix(logits: outputs, labels: batch.labels, classes: classes)
    let matrix = confusion.counts
    let names = (0..<classes).map { $0 < batch.classNames.count ? batch.classNames[$0] : "\($0)" }
    let perClass = (0..<classes).map { index in
      let (count, correct) = confusion.classCounts(index)
      return Report.Class(
        index: index, name: names[index], count: count, correct: correct,
        accuracy: count == 0 ? 0 : Double(correct) / Double(count))
    }
    let correct = confusion.correct
    let report = Report(
      model: model, data: source.description, count: batch.count, correct: correct,
      accuracy: confusion.accuracy, classes: perClass, confusionMatrix: matrix)
    if json {
      try console.printJSON(report)
      return
    }
    console.print("Model:    \(model)")
    console.print("Data:     \(report.data)")
    console.print(
      "Accuracy: \(correct) / \(batch.count) = \(format(100 * report.accuracy, digits: 2))%")
    console.print("Per class:")
    let width = names.map(\.count).max() ?? 0
    for entry in perClass {
      let name = entry.name.padding(toLength: width, withPad: " ", startingAt: 0)
      console.print(
        "  \(String(entry.index).leftPadded(to: 3))  \(name)  "
          + "\(format(100 * entry.accuracy, digits: 2).leftPadded(to: 6))%  "
          + "(\(entry.correct) / \(entry.count))")
    }
    console.print("Confusion matrix (rows: true class, columns: predicted class):")
    let cell = String(matrix.flatMap { $0 }.max() ?? 0).count + 1
    console.print("     " + (0..<classes).map { String($0).leftPadded(to: cell) }.joined())
    for (index, row) in matrix.enumerated() {
      console.print(
        "  \(String(index).leftPadded(to: 3))"
          + row.map { String($0).leftPadded(to: cell) }.joined())
    }
  }
}

/// The options the model commands share.
enum ModelOptions {
  /// `--model FILE`: the classifier.
  static let model = Option<String>(
    "model", valueName: "FILE", help: "The classifier (.safetensors or .onnx).", isRequired: true)
  /// `--labels FILE`: the labels of an IDX images source.
  static let labels = Option<String>(
    "labels", valueName: "FILE", help: "IDX labels file for an IDX images SOURCE.")
  /// `--threads N`: compute threads.
  static let threads = Option(
    "threads", valueName: "N", help: "Threads (default: all cores).", in: 1...1_024)
}
