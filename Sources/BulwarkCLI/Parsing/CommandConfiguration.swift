/// What a command is called, what it does, what it takes and which subcommands it has.
public struct CommandConfiguration: Sendable {
  /// The name typed on the command line.
  public var name: String
  /// One line saying what the command does.
  public var abstract: String
  /// Paragraphs shown after the usage in `--help`.
  public var discussion: String
  /// The positional arguments, options and flags, in the order help lists them.
  public var arguments: [ArgumentDefinition]
  /// The commands under this one; a command with subcommands does nothing by itself.
  public var subcommands: [any ParsableCommand.Type]

  /// Creates a configuration.
  /// - Parameters:
  ///   - name: The name typed on the command line.
  ///   - abstract: One line saying what the command does.
  ///   - discussion: Paragraphs shown after the usage in `--help`.
  ///   - arguments: The positional arguments, options and flags.
  ///   - subcommands: The commands under this one.
  public init(
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
