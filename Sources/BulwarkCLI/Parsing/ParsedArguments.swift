/// The values a command line gave for one command's declared arguments, read back through
/// their declarations (`Option`, `Flag`, `Positional`) with conversion and range checks that
/// fail as `UsageError`; there is no way to read an argument by a name that could be
/// misspelt.
package struct ParsedArguments: Sendable {
  /// The full name of the command, for messages (`bulwark data convert`).
  package let commandPath: String
  private var optionValues: [String: String]
  private var flags: Set<String>
  private var positionalValues: [String: [String]]

  init(
    commandPath: String, optionValues: [String: String], flags: Set<String>,
    positionalValues: [String: [String]]
  ) {
    self.commandPath = commandPath
    self.optionValues = optionValues
    self.flags = flags
    self.positionalValues = positionalValues
  }

  /// An option's value: the one given, else its default, else nil.
  /// - Parameter option: The declaration.
  /// - Returns: The value.
  /// - Throws: `UsageError` for a value of the wrong kind or out of range.
  package func value<Value>(_ option: Option<Value>) throws(UsageError) -> Value? {
    try option.parse(optionValues[option.definition.name], commandPath: commandPath)
      ?? option.defaultValue
  }

  /// An option's value that must exist: the one given, else its default.
  /// - Parameter option: The declaration (required, or with a default).
  /// - Returns: The value.
  /// - Throws: `UsageError` when it is absent and has no default, or is invalid.
  package func required<Value>(_ option: Option<Value>) throws(UsageError) -> Value {
    guard let value = try value(option) else {
      throw UsageError(
        "missing value for '--\(option.definition.name)'", commandPath: commandPath)
    }
    return value
  }

  /// Whether a flag was given.
  /// - Parameter flag: The declaration.
  /// - Returns: True when present.
  package subscript(flag: Flag) -> Bool { flags.contains(flag.definition.name) }

  /// A positional argument's first value, or nil.
  /// - Parameter positional: The declaration.
  /// - Returns: The value.
  package func value(_ positional: Positional) -> String? {
    positionalValues[positional.definition.name]?.first
  }

  /// Every value of a repeating positional argument.
  /// - Parameter positional: The declaration.
  /// - Returns: The values, in order.
  package func values(_ positional: Positional) -> [String] {
    positionalValues[positional.definition.name] ?? []
  }
}
