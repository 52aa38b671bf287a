import BulwarkDefenses
import Foundation

/// An external-process stage of a pipeline: a program it would run.
///
/// A pipeline file must not run programs behind a user's back, so every command that runs
/// stages calls `ExternalCommand.requireAllowed(_:allowed:file:)` (through
/// `PipelineDescription.requireExternalAllowed(_:)`) before any work.
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

  /// The external command of a preprocessor, if it runs one.
  /// - Parameters:
  ///   - stage: The preprocessor.
  ///   - path: Where it is (`preprocessors[1]`, `--stage`).
  /// - Returns: Its command, or nil for a defense that runs in Bulwark's process.
  public static func of(_ stage: any Preprocessor, at path: String) -> ExternalCommand? {
    guard let external = stage as? ExternalProcessDefense else { return nil }
    return ExternalCommand(stage: path, command: external.command)
  }

  /// Refuses to go on when there are external stages and the user did not allow them.
  /// - Parameters:
  ///   - commands: The external stages about to run.
  ///   - allowed: Whether the user passed `--allow-external`.
  ///   - file: The pipeline file (or `--stage`) the stages come from, for the message.
  /// - Throws: `PipelineError` naming every external stage and the flag, when `commands` is
  ///   not empty and `allowed` is false.
  public static func requireAllowed(
    _ commands: [ExternalCommand], allowed: Bool, file: String
  ) throws(PipelineError) {
    guard !commands.isEmpty, !allowed else { return }
    let stages = commands.map(\.description).joined(separator: ", ")
    let verb = commands.count == 1 ? "runs an external program" : "run external programs"
    throw PipelineError(
      file: file, path: "",
      message: "\(stages) \(verb); pass --allow-external to allow it")
  }
}

extension PipelineDescription {
  /// The pipeline's external-process stages, in order (empty for most pipelines).
  public var externalCommands: [ExternalCommand] {
    preprocessors.indices.compactMap { index in
      ExternalCommand.of(preprocessors[index], at: "preprocessors[\(index)]")
    }
  }

  /// Refuses to go on when the pipeline runs external programs and the user did not allow it;
  /// every command that runs a pipeline's stages calls this before any work.
  /// - Parameter allowed: Whether the user passed `--allow-external`.
  /// - Throws: `PipelineError` naming the external stages and the `--allow-external` flag.
  public func requireExternalAllowed(_ allowed: Bool) throws(PipelineError) {
    try ExternalCommand.requireAllowed(externalCommands, allowed: allowed, file: file.path)
  }

  /// The stage with its program running in `folder` (the pipeline file's), so that relative
  /// script paths such as `["python3", "blur.py"]` resolve beside the file; other stages as
  /// they are.
  static func anchored(_ stage: any Preprocessor, in folder: URL) -> any Preprocessor {
    guard var external = stage as? ExternalProcessDefense else { return stage }
    external.workingDirectory = folder
    return external
  }
}
