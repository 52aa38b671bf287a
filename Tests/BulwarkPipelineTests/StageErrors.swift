import BulwarkPipeline

/// Every problem a `--stage` text gives to the standard registry's preprocessors, as printed.
func stageErrors(_ text: String) -> [String] {
  do {
    _ = try DefenseRegistry.standard.preprocessor(json5: text, file: "p.json5")
    return []
  } catch {
    return error.errors.map(\.description)
  }
}
