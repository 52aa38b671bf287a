import BulwarkDefenses
import Foundation

/// A stage of a pipeline that runs another program: where it is and what it runs.
///
/// A pipeline file must not run programs behind a user's back, so every entry point that runs
/// stages calls `ExternalCommand.requireAllowed(_:allowed:file:)` (through
/// `PipelineDescription.requireExternalAllowed(_:)`) before any work. Any stage, built-in or a
/// user's, declares its program through `PipelineStage.externalCommand`.
public struct ExternalCommand: Sendable, Equatable, CustomStringConvertible {
  /// Where the stage is: `preprocessors[1]` in a pipeline file, `--stage` on a command line.
  public var stage: String
  /// The program and its arguments.
  public var command: [String]

  /// Creates a description of an external stage.
  /// - Parameters:
  ///   - stage: Where the stage is.
  ///   - command: The program and its arguments.
  public init(stage: String, command: [String]) {
    self.stage = stage
    self.command = command
  }

  /// `preprocessors[1] (python3 blur.py)`.
  public var description: String { "\(stage) (\(command.joined(separator: " ")))" }

  /// The external command of a stage, if it runs one.
  /// - Parameters:
  ///   - stage: A preprocessor or postprocessor.
  ///   - path: Where it is (`preprocessors[1]`, `--stage`).
  /// - Returns: Its command, or nil for a stage that runs in Bulwark's process.
  public static func of(_ stage: any PipelineStage, at path: String) -> ExternalCommand? {
    stage.externalCommand.map { ExternalCommand(stage: path, command: $0) }
  }

  /// Refuses to go on when there are external stages and the user did not allow them.
  /// - Parameters:
  ///   - commands: The external stages about to run.
  ///   - allowed: Whether the user allowed external programs.
  ///   - file: The pipeline file (or `--stage`) the stages come from, for the message.
  /// - Throws: `PipelineError` naming every external stage, with the remedy
  ///   `allowExternalPrograms`, when `commands` is not empty and `allowed` is false.
  public static func requireAllowed(
    _ commands: [ExternalCommand], allowed: Bool, file: String
  ) throws(PipelineError) {
    guard !commands.isEmpty, !allowed else { return }
    let stages = commands.map(\.description).joined(separator: ", ")
    let verb = commands.count == 1 ? "runs an external program" : "run external programs"
    throw PipelineError(
      file: file, path: "", message: "\(stages) \(verb)", remedy: .allowExternalPrograms)
  }
}

extension PipelineDescription {
  /// The pipeline's external-process stages, in order (empty for most pipelines).
  public var externalCommands: [ExternalCommand] {
    let stages: [(String, [any PipelineStage])] = [
      ("preprocessors", preprocessors), ("postprocessors", postprocessors),
    ]
    return stages.flatMap { list, stages in
      stages.indices.compactMap { ExternalCommand.of(stages[$0], at: "\(list)[\($0)]") }
    }
  }

  /// Refuses to go on when the pipeline runs external programs and the user did not allow it;
  /// every entry point that runs a pipeline's stages calls this before any work.
  /// - Parameter allowed: Whether the user allowed external programs.
  /// - Throws: `PipelineError` naming the external stages, with the remedy
  ///   `allowExternalPrograms`.
  public func requireExternalAllowed(_ allowed: Bool) throws(PipelineError) {
    try ExternalCommand.requireAllowed(externalCommands, allowed: allowed, file: file.path)
  }
}
