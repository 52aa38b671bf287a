import Foundation

extension ExternalProcessDefense {
  /// The program and its arguments: pipelines refuse to run it unless the user allows it.
  public var externalCommand: [String]? { command }

  /// The stage with its program running in `folder` (the pipeline file's), so that relative
  /// script paths such as `["python3", "blur.py"]` resolve beside the file.
  /// - Parameter folder: The pipeline file's folder.
  /// - Returns: The stage running there.
  public func resolvingRelativePaths(against folder: URL) -> ExternalProcessDefense {
    var stage = self
    stage.workingDirectory = folder
    return stage
  }
}
