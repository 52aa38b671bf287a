import BulwarkCore
import Foundation

/// The `bulwark` command: parses the command line, runs a subcommand and exits with 0 on
/// success, 1 on failure and 2 on a usage error.
public struct BulwarkCommand: ParsableCommand {
  /// The root of the command tree.
  package static let configuration = CommandConfiguration(
    name: "bulwark",
    abstract: "Defend a frozen image classifier against adversarial examples.",
    discussion: """
      Images are N x H x W x C float32 in [0, 1] (NHWC). A data SOURCE is a built-in name \
      (fashion-mnist:train, fashion-mnist:test), an .npz file with arrays x and y, a folder \
      with one subfolder of PNG or JPEG files per class, or an IDX images file. \
      'bulwark --version' prints the version.
      """,
    subcommands: [
      DataCommand.self, TrainCommand.self, EvaluateCommand.self, AttackCommand.self,
      InspectCommand.self, BoostCommand.self, ValidateCommand.self, FitCommand.self,
      ScoreCommand.self, TuneCommand.self, StealCommand.self, PreprocessCommand.self,
      PostprocessCommand.self,
      BenchCommand.self,
    ])

  /// Creates the root command; it only dispatches to subcommands.
  package init(arguments: ParsedArguments) {}

  /// The root command does nothing by itself: the parser shows its help instead.
  package func run(console: Console) {}

  /// Runs the tool with the process's arguments and exits with its status.
  package static func main() -> Never {
    let status = run(Array(CommandLine.arguments.dropFirst()), console: .standard)
    exit(status.rawValue)
  }

  /// Runs the tool on a command line, writing to `console`.
  /// - Parameters:
  ///   - arguments: The command line without the program name.
  ///   - console: Where results, errors and progress go.
  /// - Returns: The exit status: success, failure or usage.
  package static func run(_ arguments: [String], console: Console) -> ExitCode {
    if arguments == ["--version"] {
      console.print("bulwark \(BulwarkVersion.current)")
      return .success
    }
    do {
      switch try CommandLineParser(root: Self.self).parse(arguments) {
      case .help(let command, let path):
        console.print(HelpFormatter(command: command, commandPath: path).render())
        return .success
      case .run(let command, let parsed):
        try command.init(arguments: parsed).run(console: console)
        return .success
      }
    } catch let error as UsageError {
      console.printError("error: \(error)")
      return .usage
    } catch let code as ExitCode {
      return code
    } catch {
      // One problem per line, each marked as an error.
      for line in commandLineDescription(of: error).split(separator: "\n") {
        console.printError("error: \(line)")
      }
      return .failure
    }
  }
}
