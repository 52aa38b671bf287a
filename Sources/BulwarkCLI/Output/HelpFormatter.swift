/// Renders a command's `--help` page from its configuration.
struct HelpFormatter {
  let command: any ParsableCommand.Type
  let commandPath: String

  func render() -> String {
    let configuration = command.configuration
    var lines = ["OVERVIEW: \(configuration.abstract)", ""]
    if configuration.subcommands.isEmpty {
      let usage = [commandPath] + configuration.arguments.map(\.usage)
      lines.append("USAGE: " + usage.joined(separator: " "))
    } else {
      lines.append("USAGE: \(commandPath) <subcommand>")
    }
    if !configuration.discussion.isEmpty {
      lines += [""] + wrap(configuration.discussion, width: 80, indent: "")
    }
    let positionals = configuration.arguments.filter(\.isPositional)
    if !positionals.isEmpty {
      lines += ["", "ARGUMENTS:"]
      lines += positionals.map { row($0.name, $0.help) }
    }
    lines += ["", "OPTIONS:"]
    for definition in configuration.arguments where !definition.isPositional {
      let name =
        switch definition.kind {
        case .option(let valueName): "--\(definition.name) <\(valueName)>"
        default: "--\(definition.name)"
        }
      var help = definition.help
      if let value = definition.defaultValue { help += " (default: \(value))" }
      lines.append(row(name, help))
    }
    lines.append(row("-h, --help", "Show help information."))
    if !configuration.subcommands.isEmpty {
      lines += ["", "SUBCOMMANDS:"]
      lines += configuration.subcommands.map {
        row($0.configuration.name, $0.configuration.abstract)
      }
      lines += ["", "  See '\(commandPath) <subcommand> --help' for detailed help."]
    }
    return lines.joined(separator: "\n")
  }

  private func row(_ name: String, _ help: String) -> String {
    let column = 26
    let label = "  " + name
    let indent = String(repeating: " ", count: column)
    let text = wrap(help, width: 80, indent: indent)
    if label.count < column - 1, let first = text.first {
      let head =
        label + String(repeating: " ", count: column - label.count)
        + first.dropFirst(column)
      return ([head] + text.dropFirst()).joined(separator: "\n")
    }
    return ([label] + text).joined(separator: "\n")
  }

  /// Breaks `text` into lines of at most `width` characters (longer words stay whole), each
  /// starting with `indent`. Each line of `text` is its own paragraph; empty lines stay, and
  /// lines that begin with a space (tables, lists) are kept as written.
  private func wrap(_ text: String, width: Int, indent: String) -> [String] {
    var lines: [String] = []
    for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
      guard let first = paragraph.first, first != " " else {
        lines.append(paragraph.isEmpty ? "" : indent + paragraph)
        continue
      }
      var line = indent
      for word in paragraph.split(separator: " ", omittingEmptySubsequences: true) {
        if line.count > indent.count && line.count + 1 + word.count > width {
          lines.append(line)
          line = indent
        }
        line += (line.count > indent.count ? " " : "") + word
      }
      lines.append(line)
    }
    return lines
  }
}
