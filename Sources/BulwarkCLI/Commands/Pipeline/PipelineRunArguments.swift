import BulwarkPipeline
import Foundation

/// The `FILE [--limit N] [--allow-external] [--json]` that every command running a pipeline's
/// stages on its data sets takes.
struct PipelineRunArguments {
  /// FILE, `--limit`, `--allow-external` and `--json`.
  static let definitions = [
    fileArgument.definition, limitOption.definition, ArgumentDefinition.allowExternal, .json,
  ]

  /// `FILE`: the pipeline file.
  static let fileArgument = Positional("FILE", help: "The pipeline file (.json5).")
  /// `--limit N`: the first N images of each set only.
  static let limitOption = Option(
    "limit", valueName: "N", help: "Use the first N images of each set only.", in: 1...Int.max)

  var file: String
  var limit: Int?
  var json: Bool
  var allowExternal: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    file = arguments.value(Self.fileArgument) ?? ""
    limit = try arguments.value(Self.limitOption)
    json = arguments[.json]
    allowExternal = arguments[.allowExternal]
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
