import BulwarkData
import Foundation

/// Where a pipeline's fitted postprocessor keeps its model and what it learns from: the
/// stage's `model` and `fit` keys,
/// `fit: { clean: "fashion-mnist:train", adversarial: { attack: { … } }, limit: 10000 }`.
///
/// Either data key may be omitted (Kou et al. fit on clean images only; the CS5260 report on
/// clean and adversarial images); an attack runs on the fit's clean images and is cached like
/// the pipeline's own (see `AdversarialCache`).
public struct FitSettings: Sendable, Equatable {
  /// The fitted postprocessor's index in the pipeline's postprocessors.
  public var stage: Int
  /// The model file (LightGBM `model.txt`), resolved against the pipeline's folder.
  public var model: URL
  /// The clean images it learns from, if any.
  public var clean: DataSource?
  /// The adversarial images it learns from, or the attack that makes them, if any.
  public var adversarial: AdversarialSource?
  /// Learn from the first N images of each set only.
  public var limit: Int?

  /// The fit record beside the model: `<model>.fit.json` (see `FitRecord`).
  public var record: URL {
    model.deletingLastPathComponent().appendingPathComponent(
      model.lastPathComponent + ".fit.json")
  }

  /// The model file a pipeline file names by default: `<name>.distribution-classifier.txt`
  /// beside it (`fashion-mnist.json5` gives `fashion-mnist.distribution-classifier.txt`).
  /// - Parameter file: The pipeline file.
  /// - Returns: The model file.
  public static func defaultModel(for file: URL) -> URL {
    file.deletingPathExtension().appendingPathExtension("distribution-classifier.txt")
  }
}
