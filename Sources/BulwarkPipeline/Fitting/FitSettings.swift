import BulwarkData
import BulwarkDefenses
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
  /// The model file (for the distribution classifier, LightGBM's `model.txt`), resolved
  /// against the pipeline's folder.
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

  /// The model file a pipeline file names by default: `<name>.<stage>.<extension>` beside it
  /// (`fashion-mnist.json5` with a distribution classifier gives
  /// `fashion-mnist.distribution-classifier.txt`).
  /// - Parameters:
  ///   - file: The pipeline file.
  ///   - stage: The fitted postprocessor.
  /// - Returns: The model file.
  public static func defaultModel(for file: URL, stage: any FittedPostprocessor) -> URL {
    file.deletingPathExtension().appendingPathExtension(modelFileName(for: stage, base: ""))
  }

  /// `<base>.<stage>.<extension>`, or `<stage>.<extension>` for an empty base: the name of a
  /// fitted postprocessor's model file.
  static func modelFileName(for stage: any FittedPostprocessor, base: String) -> String {
    let name = Pipeline.name(of: stage) + "." + type(of: stage).modelFileExtension
    return base.isEmpty ? name : base + "." + name
  }
}
