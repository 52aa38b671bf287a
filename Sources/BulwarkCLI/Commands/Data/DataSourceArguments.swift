import BulwarkData

/// The `SOURCE [--labels FILE]` pair that every command reading an image set takes.
struct DataSourceArguments {
  static let sourceArgument = Positional(
    "SOURCE",
    help: "fashion-mnist:train, fashion-mnist:test, an .npz (x, y), a class-per-subfolder "
      + "image folder, or an IDX images file.")
  static let labelsOption = Option<String>(
    "labels", valueName: "FILE",
    help: "IDX labels file, when it is not beside the images under the standard name.")
  static let definitions = [sourceArgument.definition, labelsOption.definition]

  var source: String
  var labels: String?

  init(arguments: ParsedArguments) throws(UsageError) {
    source = arguments.value(Self.sourceArgument) ?? ""
    labels = try arguments.value(Self.labelsOption)
  }

  /// Resolves and reads the source.
  func load() throws -> (DataSource, ImageBatch) {
    let resolved = try DataSource(source, labels: labels)
    return (resolved, try resolved.load())
  }
}
