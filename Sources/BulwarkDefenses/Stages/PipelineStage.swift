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
  /// The files this stage reads to run (a model), resolved. Sets made against a pipeline are
  /// keyed on their bytes, so that a changed file never gets stale adversarial examples.
  var inputFiles: [URL] { get }
  /// This stage with the files it names read and checked: a pipeline file calls it as it
  /// loads, so that a bad file is reported with the file's other errors and passes need not
  /// read it again.
  /// - Returns: The stage, ready to run.
  /// - Throws: The stage's own error for a file it cannot use.
  func loadingFiles() throws -> Self
}

extension PipelineStage {
  /// Nil: the stage runs in Bulwark's process.
  public var externalCommand: [String]? { nil }

  /// Itself: the stage names no files.
  /// - Parameter folder: The pipeline file's folder (unused).
  /// - Returns: `self`.
  public func resolvingRelativePaths(against folder: URL) -> Self { self }
  /// None: the stage reads no files.
  public var inputFiles: [URL] { [] }
  /// Itself: the stage has no files to read.
  /// - Returns: `self`.
  public func loadingFiles() -> Self { self }
}
