/// Writes LightGBM's `model.txt` byte for byte as LightGBM 4.7's Python package saves it
/// (`GBDT::SaveModelToString` plus `pandas_categorical:null`).
enum ModelFileWriter {
  static func text(of model: BoostedTrees) -> String {
    var chunks: [String] = []
    for (i, tree) in model.trees.enumerated() {
      chunks.append("Tree=\(i)\n" + text(of: tree) + "\n")
    }
    var out = "tree\nversion=v4\n"
    out += "num_class=\(model.classes)\n"
    out += "num_tree_per_iteration=\(model.classes)\n"
    out += "label_index=0\n"
    out += "max_feature_idx=\(model.featureCount - 1)\n"
    out += "objective=multiclass num_class:\(model.classes)\n"
    out += "feature_names=" + model.featureNames.joined(separator: " ") + "\n"
    out += "feature_infos=" + model.featureInfos.joined(separator: " ") + "\n"
    out += "tree_sizes=" + chunks.map { "\($0.utf8.count)" }.joined(separator: " ") + "\n\n"
    for chunk in chunks { out += chunk }
    out += "end of trees\n"
    out += "\nfeature_importances:\n"
    var splits = [Int](repeating: 0, count: model.featureCount)
    for tree in model.trees { for f in tree.splitFeature { splits[f] += 1 } }
    // A stable sort by descending count, as LightGBM's std::stable_sort.
    let order = splits.indices.filter { splits[$0] > 0 }
      .sorted { splits[$0] != splits[$1] ? splits[$0] > splits[$1] : $0 < $1 }
    for f in order { out += "\(model.featureNames[f])=\(splits[f])\n" }
    out += "\nparameters:\n"
    for line in model.parameterLines { out += line + "\n" }
    out += "\nend of parameters\n"
    out += "\npandas_categorical:null\n"
    return out
  }

  /// `Tree::ToString`.
  static func text(of tree: Tree) -> String {
    func join<T>(_ values: [T], _ format: (T) -> String) -> String {
      values.map(format).joined(separator: " ")
    }
    var s = "num_leaves=\(tree.numLeaves)\nnum_cat=0\n"
    s += "split_feature=" + join(tree.splitFeature) { "\($0)" } + "\n"
    s += "split_gain=" + join(tree.splitGain) { NumberFormat.g($0) } + "\n"
    s += "threshold=" + join(tree.threshold) { NumberFormat.g17($0) } + "\n"
    s += "decision_type=" + join(tree.decisionType) { "\($0)" } + "\n"
    s += "left_child=" + join(tree.leftChild) { "\($0)" } + "\n"
    s += "right_child=" + join(tree.rightChild) { "\($0)" } + "\n"
    s += "leaf_value=" + join(tree.leafValue) { NumberFormat.g17($0) } + "\n"
    s += "leaf_weight=" + join(tree.leafWeight) { NumberFormat.g17($0) } + "\n"
    s += "leaf_count=" + join(tree.leafCount) { "\($0)" } + "\n"
    s += "internal_value=" + join(tree.internalValue) { NumberFormat.g($0) } + "\n"
    s += "internal_weight=" + join(tree.internalWeight) { NumberFormat.g($0) } + "\n"
    s += "internal_count=" + join(tree.internalCount) { "\($0)" } + "\n"
    s += "is_linear=0\n"
    s += "shrinkage=" + NumberFormat.g(tree.shrinkage) + "\n\n"
    return s
  }
}
