/// The values a command line gave for one command's declared arguments, read by name with
/// conversion and range checks that fail as `UsageError`.
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

  /// Whether the flag `--name` was given.
  package func flag(_ name: String) -> Bool { flags.contains(name) }

  /// The value of `--name`, or nil when absent.
  package func string(_ name: String) -> String? { optionValues[name] }

  /// The value of the required option or positional `name`.
  /// - Throws: `UsageError` when it is absent (the parser checks required arguments first, so
  ///   this only fails for an optional argument read as required).
  package func required(_ name: String) throws(UsageError) -> String {
    if let value = optionValues[name] ?? positionalValues[name]?.first { return value }
    throw UsageError("missing value for '\(name)'", commandPath: commandPath)
  }

  /// Every value given for the positional argument `name` (one, or many when it repeats).
  package func positionals(_ name: String) -> [String] { positionalValues[name] ?? [] }

  /// The value of the positional argument `name`, or nil when absent.
  package func positional(_ name: String) -> String? { positionalValues[name]?.first }

  /// The integer value of `--name`, or nil when absent.
  /// - Parameters:
  ///   - name: The option's long name.
  ///   - range: The values allowed.
  /// - Returns: The value, or nil when the option is absent.
  /// - Throws: `UsageError` when the value is not an integer or lies outside `range`.
  package func integer(
    _ name: String, in range: ClosedRange<Int> = Int.min...Int.max
  ) throws(UsageError) -> Int? {
    guard let text = optionValues[name] else { return nil }
    guard let value = Int(text) else {
      throw UsageError("--\(name) expects an integer, got '\(text)'", commandPath: commandPath)
    }
    guard range.contains(value) else {
      throw UsageError(
        "--\(name) must be in \(Self.describe(range)), got \(value)", commandPath: commandPath)
    }
    return value
  }

  /// The unsigned 64-bit value of `--name` (seeds), or nil when absent.
  /// - Throws: `UsageError` when the value is not a non-negative integer below 2^64.
  package func seed(_ name: String = "seed") throws(UsageError) -> UInt64? {
    guard let text = optionValues[name] else { return nil }
    guard let value = UInt64(text) else {
      throw UsageError(
        "--\(name) expects an integer from 0 to \(UInt64.max), got '\(text)'",
        commandPath: commandPath)
    }
    return value
  }

  /// The floating-point value of `--name`, or nil when absent.
  /// - Parameters:
  ///   - name: The option's long name.
  ///   - range: The values allowed.
  /// - Returns: The value, or nil when the option is absent.
  /// - Throws: `UsageError` when the value is not a finite number or lies outside `range`.
  package func double(
    _ name: String,
    in range: ClosedRange<Double> = -Double
      .greatestFiniteMagnitude...Double
      .greatestFiniteMagnitude
  ) throws(UsageError) -> Double? {
    guard let text = optionValues[name] else { return nil }
    guard let value = Double(text), value.isFinite else {
      throw UsageError("--\(name) expects a number, got '\(text)'", commandPath: commandPath)
    }
    guard range.contains(value) else {
      throw UsageError(
        "--\(name) must be in \(range.lowerBound)...\(range.upperBound), got \(text)",
        commandPath: commandPath)
    }
    return value
  }

  /// The value of `--name`, which must be one of `choices`, or nil when absent.
  /// - Throws: `UsageError` naming the choices when the value is not one of them.
  package func choice(_ name: String, from choices: [String]) throws(UsageError) -> String? {
    guard let text = optionValues[name] else { return nil }
    guard choices.contains(text) else {
      throw UsageError(
        "--\(name) must be one of \(choices.joined(separator: ", ")), got '\(text)'",
        commandPath: commandPath)
    }
    return text
  }

  private static func describe(_ range: ClosedRange<Int>) -> String {
    switch (range.lowerBound, range.upperBound) {
    case (Int.min, Int.max): "the integers"
    case (let low, Int.max): "\(low) or more"
    case (Int.min, let high): "\(high) or less"
    case (let low, let high): "\(low)...\(high)"
    }
  }
}
