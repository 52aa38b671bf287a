extension Flag {
  /// The `--allow-external` flag every command that runs pipeline stages offers: without it, a
  /// pipeline with an `external` stage is refused before any work.
  package static let allowExternal = Flag(
    "allow-external", help: "Allow the pipeline's external stages to run their programs.")
}

extension ArgumentDefinition {
  /// The `--allow-external` flag's declaration.
  package static let allowExternal = Flag.allowExternal.definition
}
