import BulwarkBoosting
import Foundation

extension DistributionClassifier {
  /// `txt`: the model is LightGBM's `model.txt`.
  public static var modelFileExtension: String { "txt" }

  /// The feature mode and every training parameter: trees fitted with other values are refused
  /// until fitted again.
  public var fitConfiguration: [String: String] {
    var configuration = [
      "features": features.rawValue, "passes": "\(passesPerImage)",
      "learningRate": "\(boosting.learningRate)", "numLeaves": "\(boosting.numLeaves)",
      "rounds": "\(boosting.rounds)", "minDataInLeaf": "\(boosting.minDataInLeaf)",
      "maxDepth": "\(boosting.maxDepth)", "lambdaL1": "\(boosting.lambdaL1)",
      "lambdaL2": "\(boosting.lambdaL2)", "seed": "\(boosting.seed)",
      "earlyStoppingRounds": "\(boosting.earlyStoppingRounds)",
    ]
    if features == .distribution { configuration["bins"] = "\(bins)" }
    if boosting.earlyStoppingRounds > 0 { configuration["validFraction"] = "\(validFraction)" }
    return configuration
  }

  /// Writes the trees as LightGBM's `model.txt`, atomically.
  /// - Parameter url: The model file.
  /// - Throws: `DistributionClassifierError.notFitted` without trees; `BoostingError` for a
  ///   file that cannot be written.
  public func saveModel(to url: URL) throws {
    guard let model else { throw DistributionClassifierError.notFitted }
    try model.write(to: url)
  }

  /// Reads trees from a LightGBM `model.txt` (written by Bulwark or by LightGBM).
  /// - Parameter url: The model file.
  /// - Throws: `BoostingError` naming the file, the line and the field when it is missing or
  ///   malformed.
  public mutating func loadModel(contentsOf url: URL) throws {
    loadModel(try BoostedTrees(contentsOf: url))
  }
}
