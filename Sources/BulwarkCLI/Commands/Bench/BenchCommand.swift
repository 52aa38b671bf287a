/// `bulwark bench`: throughput of the hot paths, meant for release builds.
struct BenchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "bench",
    abstract: "Measure the throughput of Bulwark's hot paths (use a release build).",
    discussion: """
      Run with 'swift run -c release bulwark bench …': debug builds of numeric Swift are many \
      times slower. Each benchmark warms up once and reports the median of its timed runs.
      """,
    subcommands: [
      BenchDataCommand.self, BenchModelCommand.self, BenchBoostCommand.self,
      BenchDefensesCommand.self, BenchAttackCommand.self,
    ])

  init(arguments: ParsedArguments) {}

  func run(console: Console) {}
}
