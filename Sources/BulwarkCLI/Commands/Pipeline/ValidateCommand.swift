import BulwarkData
import BulwarkModel
import BulwarkPipeline
import Foundation

/// `bulwark validate FILE…`: checks pipeline files without running them.
struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "validate",
    abstract: "Check pipeline files without running them.",
    discussion: """
      Parses each file (JSON5), checks every key against what its section or defense accepts, \
      every stage type against the registry and every parameter against its range (each value \
      of a tune section's lists and ranges too), checks that the files it names exist, loads the model and, where the clean source is cheap to read, \
      checks that its image shape fits the model (and the distribution classifier's fit.clean \
      set's). Fits nothing. Lists every problem found and exits with 1 if there is any. Names \
      the external programs a file would run (its external stages run only with \
      --allow-external).
      """,
    arguments: [filesArgument.definition, .json])

  static let filesArgument = Positional("FILE", help: "Pipeline files (.json5).", repeating: true)

  var files: [String]
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    files = arguments.values(Self.filesArgument)
    json = arguments[.json]
    if files.isEmpty {
      throw UsageError("give at least one pipeline file", commandPath: arguments.commandPath)
    }
  }

  /// One file's verdict, as `--json` prints it.
  struct Report: Encodable {
    var file: String
    var ok: Bool
    var problems: [String]
    var externalPrograms: [String]
  }

  func run(console: Console) throws {
    var failed = false
    var reports: [Report] = []
    for file in files {
      let validation = PipelineValidation(contentsOf: URL(fileURLWithPath: file))
      let problems = validation.problems.map { commandLineDescription(of: $0) }
      let external = validation.externalCommands.map(\.description)
      failed = failed || !validation.isValid
      reports.append(
        Report(
          file: file, ok: validation.isValid, problems: problems, externalPrograms: external))
      if json { continue }
      if validation.isValid {
        console.print(
          external.isEmpty
            ? "\(file): ok"
            : "\(file): ok; runs external programs: \(external.joined(separator: ", ")) "
              + "(score and tune need --allow-external)")
      } else {
        for problem in problems { console.printError("error: \(problem)") }
      }
    }
    if json { try console.printJSON(reports) }
    if failed { throw ExitCode.failure }
  }
}
