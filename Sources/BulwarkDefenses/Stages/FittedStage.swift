import Foundation

/// A stage that learns from data before use and keeps what it learnt in a model file: a
/// `FittedPostprocessor` (the distribution classifier) or a `Detector` (its threshold).
///
/// The pipeline layer fits, saves, loads and checks such a stage only through this protocol:
/// `bulwark fit` fits it on the data its `fit` key names, writes its model and a fit record
/// (the images it learnt from, by fingerprint) beside the pipeline, and scoring refuses those
/// images. A user's own stage takes part exactly as a built-in one does.
public protocol FittedStage: PipelineStage {
  /// Whether it is ready: fitted in this run, or loaded from its saved model.
  var isFitted: Bool { get }

  /// The settings a fitted model depends on, by name (`["features": "softmax", "numLeaves":
  /// "81"]`): they are written into the fit record, and a saved model whose record holds other
  /// values is refused until it is fitted again.
  var fitConfiguration: [String: String] { get }

  /// The extension of its model files, without the dot (`txt` for LightGBM's `model.txt`).
  static var modelFileExtension: String { get }

  /// Writes the fitted model to a file (atomically, so that an interrupted write leaves the
  /// old file).
  /// - Parameter url: The model file.
  /// - Throws: An error when it is not fitted, or a file error.
  func saveModel(to url: URL) throws

  /// Reads a model written by `saveModel(to:)`; afterwards `isFitted` is true.
  /// - Parameter url: The model file.
  /// - Throws: An error naming the file when it is missing or malformed.
  mutating func loadModel(contentsOf url: URL) throws
}
