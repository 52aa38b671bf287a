import BulwarkData

/// The `SOURCE [--labels FILE]` pair that every command reading an image set takes.
struct DataSourceArguments {
  static let definitions: [ArgumentDefinition] = [
    .positional(
      "SOURCE",
      help: "fashion-mnist:train, fashion-mnist:test, an .npz (x, y), a class-per-subfolder "
        + "image folder, or an IDX images file."),
    .option(
      "labels", valueName: "FILE",
      help: "IDX labels file, when it is not beside the images under the standard name."),
  ]

  var source: String
  var labels: String?

  init(arguments: ParsedArguments) throws(UsageError) {
    source = try arguments.required("SOURCE")
    labels = arguments.string("labels")
  }

  /// Resolves and reads the source.
  func load() throws -> (DataSource, ImageBatch) {
    let resolved = try DataSource(source, labels: labels)
    return (resolved, try resolved.load())
  }
}
