import BulwarkData
import BulwarkDefenses
import Foundation

/// Where a pipeline's fitted stage (a fitted postprocessor or a detector) keeps its model and
/// what it learns from: the stage's `model` and `fit` keys,
/// `fit: { clean: "fashion-mnist:train", adversarial: { attack: { … } }, limit: 10000 }`;
/// `start: N` skips the first N images of each set (`fit: { clean: "fashion-mnist:test",
/// start: 5000, limit: 2000 }` learns from test images 5000..<7000, apart from what a model
/// was trained on and from the first test images a pipeline scores).
///
/// Either data key may be omitted (Kou et al. fit on clean images only; the CS5260 report on
/// clean and adversarial images); an attack runs on the fit's clean images and is cached like
/// the pipeline's own (see `AdversarialCache`).
public struct FitSettings: Sendable, Equatable {
  /// Where the stage is in the pipeline.
  public var position: StagePosition
  /// The model file (for the distribution classifier, LightGBM's `model.txt`), resolved
  /// against the pipeline's folder.
  public var model: URL
  /// The clean images it learns from, if any.
  public var clean: DataSource?
  /// The adversarial images it learns from, or the attack that makes them, if any.
  public var adversarial: AdversarialSource?
  /// Skip the first N images of each set.
  public var start: Int?
  /// Learn from the first N images of each set only (after `start`).
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
  ///   - stage: The fitted stage.
  /// - Returns: The model file.
  public static func defaultModel(for file: URL, stage: any FittedStage) -> URL {
    file.deletingPathExtension().appendingPathExtension(modelFileName(for: stage, base: ""))
  }

  /// `<base>.<stage>.<extension>`, or `<stage>.<extension>` for an empty base: the name of a
  /// fitted stage's model file.
  static func modelFileName(for stage: any FittedStage, base: String) -> String {
    let name = Pipeline.name(of: stage) + "." + type(of: stage).modelFileExtension
    return base.isEmpty ? name : base + "." + name
  }
}

/// Where a fitted stage is in its pipeline: its list and index.
public enum StagePosition: Sendable, Equatable {
  /// `postprocessors[i]`.
  case postprocessor(Int)
  /// `detectors[i]`.
  case detector(Int)

  /// Whether the stage is a detector.
  public var isDetector: Bool {
    if case .detector = self { true } else { false }
  }

  /// The stage's path in the pipeline file (`postprocessors[2]`).
  public var path: String {
    switch self {
    case .postprocessor(let index): "postprocessors[\(index)]"
    case .detector(let index): "detectors[\(index)]"
    }
  }

  /// The fitted stage at this position among a pipeline's stages, or nil when there is none.
  /// - Parameters:
  ///   - postprocessors: The pipeline's postprocessors.
  ///   - detectors: The pipeline's detectors.
  /// - Returns: The stage.
  func stage(
    postprocessors: [any Postprocessor], detectors: [any Detector]
  ) -> (any FittedStage)? {
    switch self {
    case .postprocessor(let index):
      postprocessors.indices.contains(index) ? postprocessors[index] as? any FittedStage : nil
    case .detector(let index): detectors.indices.contains(index) ? detectors[index] : nil
    }
  }
}
