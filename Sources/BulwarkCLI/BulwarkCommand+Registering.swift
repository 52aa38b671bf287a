import BulwarkDefenses
import BulwarkPipeline
import Foundation

extension BulwarkCommand {
  /// Runs the full command line with a user's own defenses beside the built-ins, and exits
  /// with its status; call it from your own `@main`:
  /// ```swift
  /// @main struct Main {
  ///   static func main() { BulwarkCommand.main(registering: [MyBlur.self]) }
  /// }
  /// ```
  /// Pipeline files, `validate`, `score`, `preprocess` and `postprocess` then accept
  /// `{ type: "my-blur", … }`.
  /// - Parameter defenses: `RegisteredPreprocessor` and `RegisteredPostprocessor` types.
  /// - Returns: Never: the process exits with 0 on success, 1 on failure (including a name
  ///   that is empty or already taken) and 2 on a usage error.
  public static func main(registering defenses: [any RegisteredDefense.Type]) -> Never {
    let status = run(
      Array(CommandLine.arguments.dropFirst()), registering: defenses, console: .standard)
    exit(status.rawValue)
  }

  /// Runs the tool on a command line with a user's own defenses beside the built-ins: binds
  /// `DefenseRegistry.current` to `DefenseRegistry.standard.registering(defenses)` for the run.
  /// - Parameters:
  ///   - arguments: The command line without the program name.
  ///   - defenses: `RegisteredPreprocessor` and `RegisteredPostprocessor` types.
  ///   - console: Where results, errors and progress go.
  /// - Returns: The exit status: success, failure (also when a defense cannot be registered:
  ///   an empty name or one already taken) or usage.
  package static func run(
    _ arguments: [String], registering defenses: [any RegisteredDefense.Type], console: Console
  ) -> ExitCode {
    let registry: DefenseRegistry
    do {
      registry = try DefenseRegistry.standard.registering(defenses)
    } catch {
      console.printError("error: \(error)")
      return .failure
    }
    return DefenseRegistry.$current.withValue(registry) {
      run(arguments, console: console)
    }
  }
}
