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
      every stage type against the registry and every parameter against its range (each value of a tune section's lists and ranges too), checks that \
      the files it names exist, loads the model and, where the clean source is cheap to read, \
      checks that its image shape fits the model. Lists every problem found and exits with 1 \
      if there is any.
      """,
    arguments: [
      .positional("FILE", help: "Pipeline files (.json5).", repeating: true)
    ])

  var files: [String]

  init(arguments: ParsedArguments) throws(UsageError) {
    files = arguments.positionals("FILE")
    if files.isEmpty {
      throw UsageError("give at least one pipeline file", commandPath: arguments.commandPath)
    }
  }

  func run(console: Console) throws {
    var failed = false
    for file in files {
      let problems = Self.problems(in: URL(fileURLWithPath: file))
      if problems.isEmpty {
        console.print("\(file): ok")
      } else {
        failed = true
        for problem in problems { console.printError("error: \(problem)") }
      }
    }
    if failed { throw ExitCode.failure }
  }

  /// Every problem of one file, as printed lines.
  static func problems(in url: URL) -> [String] {
    let description: PipelineDescription
    do {
      description = try PipelineDescription(contentsOf: url)
    } catch {
      return error.errors.map(\.description)
    }
    do {
      // Every value of the search space's lists and ranges is built and checked.
      _ = try SearchSpace(contentsOf: url)
    } catch {
      return error.errors.map(\.description)
    }
    let classifier: any Classifier
    do {
      classifier = try loadClassifier(contentsOf: description.model)
    } catch {
      return ["\(url.path): classifier.model: \(error)"]
    }
    // A built-in set is small and fast to read; other sources may be large and are checked by
    // `score` before it starts.
    guard case .builtin(let dataset) = description.clean else { return [] }
    do {
      let images = try dataset.load()
      try Pipeline(classifier: classifier).check(images, name: "data.clean", file: url.path)
    } catch {
      return ["\(error)"]
    }
    return []
  }
}
