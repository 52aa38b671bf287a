import BulwarkCore
import BulwarkData

/// `bulwark bench data`: how fast an image set is read.
struct BenchDataCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "data",
    abstract: "Time reading an image set (default: all 60,000 Fashion-MNIST training images).",
    arguments: [sourceArgument.definition, runsOption.definition, .json])

  static let sourceArgument = Positional("SOURCE", help: "The set to read.", isRequired: false)
  static let runsOption = Option(
    "runs", valueName: "N", help: "Timed runs.", default: 5, in: 1...1_000)

  var source: String
  var runs: Int
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    source = arguments.value(Self.sourceArgument) ?? BuiltinDataset.fashionMNISTTrain.description
    runs = try arguments.required(Self.runsOption)
    json = arguments[.json]
  }

  /// The measurement, as `--json` prints it.
  struct Report: Encodable {
    var source: String
    var images: Int
    var seconds: Double
    var imagesPerSecond: Double
    var checksum: Double
  }

  func run(console: Console) throws {
    let resolved = try DataSource(source)
    var count = 0
    let (seconds, checksum) = try Stopwatch.median(runs: runs) {
      let batch = try resolved.load()
      count = batch.count
      return batch.pixels.reduce(0) { $0 + Double($1) }
    }
    let report = Report(
      source: resolved.description, images: count, seconds: seconds,
      imagesPerSecond: Double(count) / seconds, checksum: checksum)
    if json {
      try console.printJSON(report)
    } else {
      console.print(
        "read \(source): \(count) images in \(format(seconds, digits: 3)) s "
          + "(\(format(report.imagesPerSecond, digits: 0)) images/s, median of \(runs))")
    }
  }
}
