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
    arguments: [
      .positional("FILE", help: "Pipeline files (.json5).", repeating: true),
      .json,
    ])

  var files: [String]
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    files = arguments.positionals("FILE")
    json = arguments.flag("json")
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
      let (problems, external) = Self.check(URL(fileURLWithPath: file))
      failed = failed || !problems.isEmpty
      reports.append(
        Report(
          file: file, ok: problems.isEmpty, problems: problems,
          externalPrograms: external.map(\.description)))
      if json { continue }
      if problems.isEmpty {
        let note = external.map(\.description).joined(separator: ", ")
        console.print(
          external.isEmpty
            ? "\(file): ok"
            : "\(file): ok; runs external programs: \(note) (score needs --allow-external)")
      } else {
        for problem in problems { console.printError("error: \(problem)") }
      }
    }
    if json { try console.printJSON(reports) }
    if failed { throw ExitCode.failure }
  }

  /// Every problem of one file, as printed lines, and the external programs it would run.
  static func check(_ url: URL) -> (problems: [String], external: [ExternalCommand]) {
    let description: PipelineDescription
    do {
      description = try PipelineDescription(contentsOf: url)
    } catch {
      return (error.errors.map(\.description), [])
    }
    do {
      // Every value of the search space's lists and ranges is built and checked.
      _ = try SearchSpace(contentsOf: url)
    } catch {
      return (error.errors.map(\.description), description.externalCommands)
    }
    return (problems(in: description, url: url), description.externalCommands)
  }

  /// The problems of a parsed file: its model and, for a built-in clean set, the image shape.
  private static func problems(in description: PipelineDescription, url: URL) -> [String] {
    let classifier: any Classifier
    do {
      classifier = try loadClassifier(contentsOf: description.model)
    } catch {
      return ["\(url.path): classifier.model: \(error)"]
    }
    // A built-in set is small and fast to read; other sources may be large and are checked by
    // `score` before it starts.
    var sets: [(String, DataSource)] = [("data.clean", description.clean)]
    if let fitting = description.fitting, let clean = fitting.clean {
      sets.append(("postprocessors[\(fitting.stage)].fit.clean", clean))
    }
    for (name, source) in sets {
      guard case .builtin(let dataset) = source else { continue }
      do {
        let images = try dataset.load()
        try Pipeline(classifier: classifier).check(images, name: name, file: url.path)
      } catch {
        return ["\(error)"]
      }
    }
    return []
  }
}
