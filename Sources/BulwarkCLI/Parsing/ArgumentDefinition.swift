/// One positional argument, option or flag of a command, declared once: the parser and the
/// generated `--help` both read this declaration.
package struct ArgumentDefinition: Sendable {
  /// How the argument appears on the command line.
  package enum Kind: Sendable, Equatable {
    /// A value given by position, such as `SOURCE`; `repeating` takes every remaining value.
    case positional(repeating: Bool)
    /// `--name VALUE` (or `--name=VALUE`); the string names the value in help, such as `FILE`.
    case option(valueName: String)
    /// `--name`, true when present.
    case flag
  }

  /// The option's long name without dashes (`labels`), or the positional's name (`SOURCE`).
  package var name: String
  /// How the argument appears on the command line.
  package var kind: Kind
  /// One line of help.
  package var help: String
  /// Whether the command line must give it.
  package var isRequired: Bool
  /// The value used when the command line does not give one, shown in help.
  package var defaultValue: String?

  /// A positional argument.
  /// - Parameters:
  ///   - name: Its name in help, upper case by convention (`SOURCE`).
  ///   - help: One line of help.
  ///   - isRequired: Whether it must be given.
  ///   - repeating: Whether it takes every remaining positional value.
  /// - Returns: The definition.
  package static func positional(
    _ name: String, help: String, isRequired: Bool = true, repeating: Bool = false
  ) -> ArgumentDefinition {
    ArgumentDefinition(
      name: name, kind: .positional(repeating: repeating), help: help, isRequired: isRequired,
      defaultValue: nil)
  }

  /// An option that takes a value.
  /// - Parameters:
  ///   - name: The long name without dashes (`out` for `--out`).
  ///   - valueName: The value's name in help (`FILE`).
  ///   - help: One line of help.
  ///   - isRequired: Whether it must be given.
  ///   - defaultValue: The value used when it is not given, shown in help.
  /// - Returns: The definition.
  package static func option(
    _ name: String, valueName: String, help: String, isRequired: Bool = false,
    defaultValue: String? = nil
  ) -> ArgumentDefinition {
    ArgumentDefinition(
      name: name, kind: .option(valueName: valueName), help: help, isRequired: isRequired,
      defaultValue: defaultValue)
  }

  /// A flag, true when present.
  /// - Parameters:
  ///   - name: The long name without dashes (`json` for `--json`).
  ///   - help: One line of help.
  /// - Returns: The definition.
  package static func flag(_ name: String, help: String) -> ArgumentDefinition {
    ArgumentDefinition(name: name, kind: .flag, help: help, isRequired: false, defaultValue: nil)
  }

  /// The `--json` flag every command that reports results offers.
  package static let json = Flag.json.definition

  /// How the argument reads in a usage line: `SOURCE`, `--out FILE`, `[--json]`.
  var usage: String {
    let text =
      switch kind {
      case .positional(let repeating): repeating ? "\(name)…" : name
      case .option(let valueName): "--\(name) \(valueName)"
      case .flag: "--\(name)"
      }
    return isRequired ? text : "[\(text)]"
  }
}
