import Foundation

/// What every stage of a pipeline can tell about itself, before or after the classifier.
///
/// `Preprocessor` and `Postprocessor` refine it. The pipeline layer asks every stage these
/// questions through this protocol, so a user's own stage takes part in them exactly as a
/// built-in one does: a stage that runs another program declares it (so that nothing runs
/// programs behind a user's back), and a stage that names files resolves them against the
/// pipeline file's folder.
public protocol PipelineStage: Sendable {
  /// The program and arguments this stage runs outside Bulwark's process, or nil when it runs
  /// in-process. Commands that run pipelines refuse stages with a program unless the user
  /// allows them.
  var externalCommand: [String]? { get }

  /// This stage with relative paths resolved against `folder`, the pipeline file's folder (an
  /// external stage's program then runs there, so `["python3", "blur.py"]` finds the script
  /// beside the file).
  /// - Parameter folder: The folder relative paths are relative to.
  /// - Returns: The stage with its paths resolved.
  func resolvingRelativePaths(against folder: URL) -> Self
}

extension PipelineStage {
  /// Nil: the stage runs in Bulwark's process.
  public var externalCommand: [String]? { nil }

  /// Itself: the stage names no files.
  /// - Parameter folder: The pipeline file's folder (unused).
  /// - Returns: `self`.
  public func resolvingRelativePaths(against folder: URL) -> Self { self }
}
