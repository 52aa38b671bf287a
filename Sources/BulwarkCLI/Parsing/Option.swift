import BulwarkData

/// A value a command-line option carries, read from the command line's text.
package protocol OptionValue: Sendable, CustomStringConvertible {
  /// The value `text` stands for, or nil when it stands for none.
  init?(optionText text: String)
  /// What the option expects, for errors (`an integer`).
  static var expectedText: String { get }
}

extension Int: OptionValue {
  /// Reads a decimal integer.
  package init?(optionText text: String) { self.init(text) }
  /// `an integer`.
  package static var expectedText: String { "an integer" }
}

extension UInt64: OptionValue {
  /// Reads a decimal integer from 0 to 2^64 - 1.
  package init?(optionText text: String) { self.init(text) }
  /// `an integer from 0 to 18446744073709551615`.
  package static var expectedText: String { "an integer from 0 to \(UInt64.max)" }
}

extension Double: OptionValue {
  /// Reads a finite number.
  package init?(optionText text: String) {
    guard let value = Double(text), value.isFinite else { return nil }
    self = value
  }
  /// `a number`.
  package static var expectedText: String { "a number" }
}

extension ImageShape: OptionValue {
  /// Reads `HxWxC` (`64x64x3`), each a positive integer.
  package init?(optionText text: String) {
    let parts = text.split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
    guard parts.count == 3, let height = parts[0], let width = parts[1],
      let channels = parts[2], height > 0, width > 0, channels > 0
    else { return nil }
    self.init(height: height, width: width, channels: channels)
  }
  /// `an image shape HxWxC, such as 64x64x3`.
  package static var expectedText: String { "an image shape HxWxC, such as 64x64x3" }
}

extension String: OptionValue {
  /// The text itself.
  package init?(optionText text: String) { self = text }
  /// `a value`.
  package static var expectedText: String { "a value" }
}

/// An option declared once: its name, value name and help, its default (shown in help and
/// used when the option is absent) and the values it accepts. Commands read it back typed
/// (`try arguments.value(Self.seed)`), so a misspelt option fails to compile.
package struct Option<Value: OptionValue>: Sendable {
  /// The declaration help and the parser read.
  package let definition: ArgumentDefinition
  /// The value when the option is absent, if any.
  package let defaultValue: Value?
  private let accepts: @Sendable (Value) -> Bool
  private let expected: String?

  /// Declares an option.
  /// - Parameters:
  ///   - name: The long name without dashes (`out` for `--out`).
  ///   - valueName: The value's name in help (`FILE`).
  ///   - help: One line of help.
  ///   - defaultValue: The value when the option is absent (shown in help).
  ///   - isRequired: Whether it must be given.
  ///   - expected: The accepted values in words, for errors.
  ///   - accepts: Whether a value is accepted.
  package init(
    _ name: String, valueName: String, help: String, default defaultValue: Value? = nil,
    isRequired: Bool = false, expected: String? = nil,
    accepts: @escaping @Sendable (Value) -> Bool = { _ in true }
  ) {
    definition = .option(
      name, valueName: valueName, help: help, isRequired: isRequired,
      defaultValue: defaultValue.map(\.description))
    self.defaultValue = defaultValue
    self.accepts = accepts
    self.expected = expected
  }

  /// The value given on a command line, checked; nil when absent.
  func parse(_ text: String?, commandPath: String) throws(UsageError) -> Value? {
    guard let text else { return nil }
    let name = definition.name
    guard let value = Value(optionText: text) else {
      throw UsageError(
        "--\(name) expects \(Value.expectedText), got '\(text)'", commandPath: commandPath)
    }
    guard accepts(value) else {
      throw UsageError(
        "--\(name) must be \(expected ?? "valid"), got \(text)", commandPath: commandPath)
    }
    return value
  }
}

extension Option where Value: Comparable {
  /// Declares an option that accepts the values of a closed range.
  /// - Parameters:
  ///   - name: The long name without dashes.
  ///   - valueName: The value's name in help.
  ///   - help: One line of help.
  ///   - defaultValue: The value when the option is absent.
  ///   - isRequired: Whether it must be given.
  ///   - range: The accepted values.
  package init(
    _ name: String, valueName: String, help: String, default defaultValue: Value? = nil,
    isRequired: Bool = false, in range: ClosedRange<Value>
  ) {
    let upper = "\(range.upperBound)"
    let bounds =
      upper == "\(Int.max)"
      ? "\(range.lowerBound) or more" : "\(range.lowerBound)...\(range.upperBound)"
    self.init(
      name, valueName: valueName, help: help, default: defaultValue, isRequired: isRequired,
      expected: "in \(bounds)", accepts: { range.contains($0) })
  }
}

extension Option where Value == String {
  /// Declares an option that takes one of a few words.
  /// - Parameters:
  ///   - name: The long name without dashes.
  ///   - valueName: The value's name in help.
  ///   - help: One line of help.
  ///   - defaultValue: The value when the option is absent.
  ///   - isRequired: Whether it must be given.
  ///   - choices: The accepted words.
  package init(
    _ name: String, valueName: String, help: String, default defaultValue: String? = nil,
    isRequired: Bool = false, choices: [String]
  ) {
    self.init(
      name, valueName: valueName, help: help, default: defaultValue, isRequired: isRequired,
      expected: "one of \(choices.joined(separator: ", "))", accepts: { choices.contains($0) })
  }
}

/// A flag declared once, read back as a Boolean.
package struct Flag: Sendable {
  /// The declaration help and the parser read.
  package let definition: ArgumentDefinition

  /// Declares a flag.
  /// - Parameters:
  ///   - name: The long name without dashes (`json` for `--json`).
  ///   - help: One line of help.
  package init(_ name: String, help: String) {
    definition = .flag(name, help: help)
  }

  /// The `--json` flag every command that reports results offers.
  package static let json = Flag("json", help: "Print machine-readable JSON on stdout.")
}

/// A positional argument declared once.
package struct Positional: Sendable {
  /// The declaration help and the parser read.
  package let definition: ArgumentDefinition

  /// Declares a positional argument.
  /// - Parameters:
  ///   - name: Its name in help, upper case by convention (`FILE`).
  ///   - help: One line of help.
  ///   - isRequired: Whether it must be given.
  ///   - repeating: Whether it takes every remaining positional value.
  package init(_ name: String, help: String, isRequired: Bool = true, repeating: Bool = false) {
    definition = .positional(name, help: help, isRequired: isRequired, repeating: repeating)
  }
}
