/// `bulwark data`: inspect and convert image sets.
struct DataCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "data",
    abstract: "Inspect and convert labelled image sets.",
    subcommands: [DataInfoCommand.self, DataConvertCommand.self])

  init(arguments: ParsedArguments) {}

  func run(console: Console) {}
}
