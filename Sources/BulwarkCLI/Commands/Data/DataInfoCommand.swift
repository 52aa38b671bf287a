import BulwarkData

/// `bulwark data info SOURCE`: what an image set holds.
struct DataInfoCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "info",
    abstract: "Show an image set's size, image shape, value range and class counts.",
    arguments: DataSourceArguments.definitions + [.json])

  var source: DataSourceArguments
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    source = try DataSourceArguments(arguments: arguments)
    json = arguments[.json]
  }

  /// The report, as `--json` prints it.
  struct Report: Encodable {
    struct Class: Encodable {
      var index: Int
      var name: String
      var count: Int
    }
    var source: String
    var count: Int
    var shape: ImageShape
    var minimum: Float
    var maximum: Float
    var classCount: Int
    var classes: [Class]
  }

  func run(console: Console) throws {
    let (resolved, batch) = try source.load()
    let counts = batch.classCounts
    let report = Report(
      source: resolved.description, count: batch.count, shape: batch.shape,
      minimum: batch.pixels.min() ?? 0, maximum: batch.pixels.max() ?? 0,
      classCount: batch.classCount,
      classes: batch.classNames.enumerated().map {
        Report.Class(index: $0.offset, name: $0.element, count: counts[$0.offset])
      })
    if json {
      try console.printJSON(report)
      return
    }
    console.print("Source:  \(report.source)")
    console.print("Images:  \(report.count) of \(report.shape) (height x width x channels)")
    console.print("Values:  \(report.minimum) to \(report.maximum)")
    console.print("Classes: \(report.classCount)")
    let width = report.classes.map(\.name.count).max() ?? 0
    for entry in report.classes {
      let name = entry.name.padding(toLength: width, withPad: " ", startingAt: 0)
      console.print("  \(String(entry.index).leftPadded(to: 3))  \(name)  \(entry.count)")
    }
  }
}

extension String {
  /// The string right-aligned in a field of `width` characters.
  func leftPadded(to width: Int) -> String {
    String(repeating: " ", count: max(0, width - count)) + self
  }
}
