/// A multiclass gradient-boosted tree model with LightGBM's softmax objective: one tree per
/// class per iteration, raw scores summed in iteration order, probabilities by softmax.
///
/// Trained by ``fit(features:rows:columns:labels:classes:parameters:validation:progress:)``
/// or read from a LightGBM `model.txt`; either way it predicts what LightGBM 4.7 predicts.
public struct BoostedTrees: Equatable, Sendable {
  /// Number of classes (LightGBM `num_class`).
  public let classes: Int
  /// Number of feature columns (`max_feature_idx + 1`).
  public let featureCount: Int
  /// Feature names written to `feature_names`.
  public var featureNames: [String]
  /// `feature_infos` tokens: `[min:max]` per used feature, `none` otherwise.
  var featureInfos: [String]
  /// Trees in iteration-major order: index = iteration * classes + class.
  var trees: [Tree]
  /// The `parameters:` block lines, written back unchanged.
  var parameterLines: [String]
  /// The best iteration (1-based) found by early stopping; nil without a validation set.
  public internal(set) var bestIteration: Int?

  /// Number of boosting iterations in the model.
  public var iterationCount: Int { trees.count / classes }

  init(
    classes: Int, featureCount: Int, featureNames: [String], featureInfos: [String],
    trees: [Tree], parameterLines: [String], bestIteration: Int?
  ) {
    self.classes = classes
    self.featureCount = featureCount
    self.featureNames = featureNames
    self.featureInfos = featureInfos
    self.trees = trees
    self.parameterLines = parameterLines
    self.bestIteration = bestIteration
  }
}
