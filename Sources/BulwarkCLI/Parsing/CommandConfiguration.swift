/// What a command is called, what it does, what it takes and which subcommands it has.
package struct CommandConfiguration: Sendable {
  /// The name typed on the command line.
  package var name: String
  /// One line saying what the command does.
  package var abstract: String
  /// Paragraphs shown after the usage in `--help`.
  package var discussion: String
  /// The positional arguments, options and flags, in the order help lists them.
  package var arguments: [ArgumentDefinition]
  /// The commands under this one; a command with subcommands does nothing by itself.
  package var subcommands: [any ParsableCommand.Type]

  /// Creates a configuration.
  /// - Parameters:
  ///   - name: The name typed on the command line.
  ///   - abstract: One line saying what the command does.
  ///   - discussion: Paragraphs shown after the usage in `--help`.
  ///   - arguments: The positional arguments, options and flags.
  ///   - subcommands: The commands under this one.
  package init(
    name: String, abstract: String, discussion: String = "",
    arguments: [ArgumentDefinition] = [], subcommands: [any ParsableCommand.Type] = []
  ) {
    self.name = name
    self.abstract = abstract
    self.discussion = discussion
    self.arguments = arguments
    self.subcommands = subcommands
  }
}
