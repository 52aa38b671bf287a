import BulwarkDefenses

extension DefenseRegistry {
  /// This registry with a user's own defenses added, each under its `typeName`.
  ///
  /// `DefenseRegistry.standard.registering([MyBlur.self, MyCalibration.self])` is the registry
  /// `BulwarkCommand.main(registering:)` runs the command line with.
  /// - Parameter types: Preprocessor and postprocessor types, in any order.
  /// - Returns: The registry with every type added.
  /// - Throws: `PipelineError` naming the Swift type when its name is empty or already taken
  ///   (by a built-in or by an earlier type of the list).
  public func registering(_ types: [any RegisteredDefense.Type]) throws(PipelineError)
    -> DefenseRegistry
  {
    var registry = self
    for type in types {
      let name = type.typeName
      func refuse(_ reason: String) -> PipelineError {
        PipelineError(
          file: "registry", path: name.isEmpty ? "" : name,
          message: "cannot register \(type): \(reason)")
      }
      if name.isEmpty || name.contains(where: \.isWhitespace) {
        throw refuse("its typeName '\(name)' must be a non-empty word such as 'my-blur'")
      }
      if registry.preprocessorNames.contains(name) {
        throw refuse("a preprocessor named '\(name)' is already registered")
      }
      if registry.postprocessorNames.contains(name) {
        throw refuse("a postprocessor named '\(name)' is already registered")
      }
      try registry.register(type)
    }
    return registry
  }
}
