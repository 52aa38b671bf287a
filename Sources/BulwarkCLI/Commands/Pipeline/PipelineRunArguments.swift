import BulwarkPipeline
import Foundation

/// The `FILE [--limit N] [--allow-external] [--json]` that every command running a pipeline's
/// stages on its data sets takes.
struct PipelineRunArguments {
  /// The declarations, with the command's own words for `--limit`.
  /// - Parameter limitHelp: What `--limit N` restricts.
  /// - Returns: FILE, `--limit`, `--allow-external` and `--json`.
  static func definitions(limitHelp: String) -> [ArgumentDefinition] {
    [
      .positional("FILE", help: "The pipeline file (.json5)."),
      .option("limit", valueName: "N", help: limitHelp),
      .allowExternal,
      .json,
    ]
  }

  var file: String
  var limit: Int?
  var json: Bool
  var allowExternal: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    file = try arguments.required("FILE")
    limit = try arguments.integer("limit", in: 1...Int.max)
    json = arguments.flag("json")
    allowExternal = arguments.flag("allow-external")
  }

  /// Reads the pipeline file and refuses it, before any work, when it runs external programs
  /// that `--allow-external` did not allow.
  /// - Returns: The parsed pipeline file.
  /// - Throws: `PipelineErrors` for a bad file, `PipelineError` for unallowed external stages.
  func loadDescription() throws -> PipelineDescription {
    let description = try PipelineDescription(contentsOf: URL(fileURLWithPath: file))
    try description.requireExternalAllowed(allowExternal)
    return description
  }
}
