import BulwarkData

/// Splits a command line into the subcommand it names and that command's parsed arguments.
struct CommandLineParser {
  /// What the command line asks for.
  enum Request {
    /// Run this command with these arguments.
    case run(any ParsableCommand.Type, ParsedArguments)
    /// Print the help of this command (its full name given).
    case help(any ParsableCommand.Type, commandPath: String)
  }

  let root: any ParsableCommand.Type

  /// Parses `arguments` (without the program name).
  /// - Throws: `UsageError` for unknown subcommands or options, missing values and the like.
  func parse(_ arguments: [String]) throws(UsageError) -> Request {
    var command = root
    var path = root.configuration.name
    var remaining = arguments[...]
    // Walk down the subcommands named at the front of the line.
    while let next = remaining.first, !command.configuration.subcommands.isEmpty {
      if next == "--help" || next == "-h" || next == "help" {
        return .help(command, commandPath: path)
      }
      let subcommands = command.configuration.subcommands
      guard let sub = subcommands.first(where: { $0.configuration.name == next }) else {
        let names = subcommands.map { $0.configuration.name }
        var message = "unknown command '\(next)'"
        if let guess = closestMatch(to: next, among: names) {
          message += "; did you mean '\(guess)'?"
        }
        throw UsageError(message, commandPath: path)
      }
      command = sub
      path += " " + next
      remaining = remaining.dropFirst()
    }
    if !command.configuration.subcommands.isEmpty {
      return .help(command, commandPath: path)
    }
    if remaining.contains("--help") || remaining.contains("-h") {
      return .help(command, commandPath: path)
    }
    return .run(command, try parseArguments(Array(remaining), of: command, path: path))
  }

  private func parseArguments(
    _ arguments: [String], of command: any ParsableCommand.Type, path: String
  ) throws(UsageError) -> ParsedArguments {
    let definitions = command.configuration.arguments
    var options: [String: String] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []
    var index = 0
    var onlyPositionals = false
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if onlyPositionals || !argument.hasPrefix("--") || argument == "-" {
        if argument == "--" && !onlyPositionals {
          onlyPositionals = true
        } else {
          positionals.append(argument)
        }
        continue
      }
      var name = String(argument.dropFirst(2))
      var inlineValue: String?
      if let equals = name.firstIndex(of: "=") {
        inlineValue = String(name[name.index(after: equals)...])
        name = String(name[..<equals])
      }
      guard let definition = definitions.first(where: { $0.name == name && !$0.isPositional })
      else {
        let known = definitions.compactMap { $0.isPositional ? nil : $0.name }
        var message = "unknown option '--\(name)'"
        if let guess = closestMatch(to: name, among: known) {
          message += "; did you mean '--\(guess)'?"
        }
        throw UsageError(message, commandPath: path)
      }
      if options[name] != nil || flags.contains(name) {
        throw UsageError("'--\(name)' is given more than once", commandPath: path)
      }
      switch definition.kind {
      case .flag:
        if inlineValue != nil {
          throw UsageError("'--\(name)' is a flag and takes no value", commandPath: path)
        }
        flags.insert(name)
      case .option(let valueName):
        if let inlineValue {
          options[name] = inlineValue
        } else if index < arguments.count {
          options[name] = arguments[index]
          index += 1
        } else {
          throw UsageError("'--\(name)' needs a value (\(valueName))", commandPath: path)
        }
      case .positional:
        break
      }
    }
    var positionalValues: [String: [String]] = [:]
    var queue = positionals[...]
    for definition in definitions where definition.isPositional {
      guard !queue.isEmpty else { break }
      if case .positional(repeating: true) = definition.kind {
        positionalValues[definition.name] = Array(queue)
        queue = []
      } else {
        positionalValues[definition.name] = [queue.removeFirst()]
      }
    }
    if let extra = queue.first {
      throw UsageError("unexpected argument '\(extra)'", commandPath: path)
    }
    for definition in definitions where definition.isRequired {
      let given =
        definition.isPositional
        ? positionalValues[definition.name] != nil : options[definition.name] != nil
      if !given {
        throw UsageError("missing \(definition.usage)", commandPath: path)
      }
    }
    for definition in definitions {
      if options[definition.name] == nil, let value = definition.defaultValue {
        options[definition.name] = value
      }
    }
    return ParsedArguments(
      commandPath: path, optionValues: options, flags: flags, positionalValues: positionalValues)
  }
}

extension ArgumentDefinition {
  var isPositional: Bool {
    if case .positional = kind { return true }
    return false
  }
}
