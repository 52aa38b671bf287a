/// Reads LightGBM's `model.txt` (multiclass, numerical splits) with the checks LightGBM makes
/// and those it skips: `tree_sizes` against the real tree chunks, child indices forming a tree,
/// feature indices in range. Every failure names the line and field.
struct ModelFileReader {
  private struct Line {
    let number: Int
    let text: String
    let byteOffset: Int
  }

  private let lines: [Line]
  private let totalBytes: Int
  /// The file's path in messages.
  private let file: String
  private var position = 0

  init(text: String, file: String) {
    self.file = file
    var lines: [Line] = []
    var offset = 0
    var number = 1
    // Split on bytes: Swift treats "\r\n" as one Character, and tree_sizes counts bytes.
    for raw in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
      var s = String(decoding: raw, as: UTF8.self)
      let bytes = raw.count + 1
      if s.hasSuffix("\r") { s.removeLast() }
      lines.append(Line(number: number, text: s, byteOffset: offset))
      offset += bytes
      number += 1
    }
    self.lines = lines
    totalBytes = text.utf8.count
  }

  private func error(_ line: Int, _ field: String, _ expected: String, _ found: String)
    -> BoostingError
  {
    .malformedModel(file: file, line: line, field: field, expected: expected, found: found)
  }

  private func keyValue(_ line: Line) -> (String, String)? {
    guard let eq = line.text.firstIndex(of: "=") else { return nil }
    return (String(line.text[..<eq]), String(line.text[line.text.index(after: eq)...]))
  }

  mutating func read() throws(BoostingError) -> BoostedTrees {
    guard let first = lines.first, first.text == "tree" else {
      throw error(1, "first line", "\"tree\"", lines.first.map { "\"\($0.text)\"" } ?? "nothing")
    }
    position = 1
    var header: [String: (String, Int)] = [:]
    while position < lines.count, !lines[position].text.hasPrefix("Tree="),
      lines[position].text != "end of trees"
    {
      let line = lines[position]
      if let (key, value) = keyValue(line) { header[key] = (value, line.number) }
      position += 1
    }
    let lastLine = lines.last?.number ?? 1
    func required(_ key: String) throws(BoostingError) -> (String, Int) {
      guard let v = header[key] else {
        throw error(
          position < lines.count ? lines[position].number : lastLine, key,
          "a \(key)= line in the header", "none")
      }
      return v
    }
    func int(_ key: String, _ range: ClosedRange<Int>) throws(BoostingError) -> Int {
      let (v, n) = try required(key)
      guard let x = Int(v), range.contains(x) else {
        throw error(n, key, "an integer in \(range.lowerBound)...\(range.upperBound)", "\"\(v)\"")
      }
      return x
    }
    let classes = try int("num_class", 2...1_000_000)
    if header["num_tree_per_iteration"] != nil {
      _ = try int("num_tree_per_iteration", classes...classes)
    }
    _ = try int("label_index", 0...Int(Int32.max))
    let featureCount = try int("max_feature_idx", 0...10_000_000) + 1
    let (objective, objectiveLine) = try required("objective")
    let objectiveTokens = objective.split(separator: " ").map(String.init)
    guard objectiveTokens.first == "multiclass", objectiveTokens.contains("num_class:\(classes)")
    else {
      throw error(objectiveLine, "objective", "multiclass num_class:\(classes)", "\"\(objective)\"")
    }
    let (namesText, namesLine) = try required("feature_names")
    let names = namesText.split(separator: " ").map(String.init)
    guard names.count == featureCount else {
      throw error(namesLine, "feature_names", "\(featureCount) names", "\(names.count)")
    }
    let (infosText, infosLine) = try required("feature_infos")
    let infos = infosText.split(separator: " ").map(String.init)
    guard infos.count == featureCount else {
      throw error(infosLine, "feature_infos", "\(featureCount) entries", "\(infos.count)")
    }
    var declaredSizes: [Int]? = nil
    if let (sizesText, sizesLine) = header["tree_sizes"] {
      var sizes: [Int] = []
      for token in sizesText.split(separator: " ") {
        guard let s = Int(token), s > 0 else {
          throw error(sizesLine, "tree_sizes", "positive integers", "\"\(token)\"")
        }
        sizes.append(s)
      }
      declaredSizes = sizes
    }

    var trees: [Tree] = []
    var chunkBytes: [Int] = []
    var chunkLines: [Int] = []
    while position < lines.count, lines[position].text.hasPrefix("Tree=") {
      let start = lines[position]
      // LightGBM numbers its trees 0, 1, 2, … in file order; another index is a copied,
      // dropped or reordered tree.
      guard Int(start.text.dropFirst(5)) == trees.count else {
        throw error(
          start.number, "Tree=", "Tree=\(trees.count) (trees numbered in order from 0)",
          "\"\(start.text)\"")
      }
      position += 1
      var fields: [String: (String, Int)] = [:]
      while position < lines.count, !lines[position].text.isEmpty {
        let line = lines[position]
        guard let (key, value) = keyValue(line) else {
          throw error(
            line.number, "tree \(trees.count)", "key=value or a blank line",
            "\"\(line.text)\"")
        }
        fields[key] = (value, line.number)
        position += 1
      }
      guard position < lines.count else {
        throw error(
          lastLine, "tree \(trees.count)", "a blank line ending the tree",
          "end of file")
      }
      trees.append(try parseTree(fields, startLine: start.number, featureCount: featureCount))
      while position < lines.count, lines[position].text.isEmpty { position += 1 }
      let end = position < lines.count ? lines[position].byteOffset : totalBytes
      chunkBytes.append(end - start.byteOffset)
      chunkLines.append(start.number)
    }
    guard position < lines.count, lines[position].text == "end of trees" else {
      throw error(
        position < lines.count ? lines[position].number : lastLine, "trees",
        "Tree=<i> blocks followed by \"end of trees\"",
        position < lines.count ? "\"\(lines[position].text)\"" : "end of file")
    }
    if let declaredSizes {
      guard declaredSizes.count == trees.count else {
        throw error(
          header["tree_sizes"]?.1 ?? 1, "tree_sizes", "\(trees.count) sizes",
          "\(declaredSizes.count)")
      }
      for i in trees.indices where declaredSizes[i] != chunkBytes[i] {
        throw error(
          chunkLines[i], "tree_sizes[\(i)]",
          "\(chunkBytes[i]) bytes (the length of Tree=\(i))", "\(declaredSizes[i])")
      }
    }
    guard trees.count >= classes else {
      throw error(
        lines[position].number, "trees", "at least \(classes) trees (one iteration)",
        "\(trees.count)")
    }
    trees.removeLast(trees.count % classes)
    var parameterLines: [String] = []
    if let p = lines.firstIndex(where: { $0.text == "parameters:" }),
      let e = lines[p...].firstIndex(where: { $0.text == "end of parameters" })
    {
      parameterLines = lines[(p + 1)..<e].map(\.text)
      if parameterLines.last == "" { parameterLines.removeLast() }
    }
    return BoostedTrees(
      classes: classes, featureCount: featureCount, featureNames: names, featureInfos: infos,
      trees: trees, parameterLines: parameterLines, bestIteration: nil)
  }

  private func parseTree(
    _ fields: [String: (String, Int)], startLine: Int, featureCount: Int
  ) throws(BoostingError) -> Tree {
    func values<T>(
      _ key: String, count: Int, required: Bool, expected: String = "a number",
      _ parse: (Substring) -> T?
    ) throws(BoostingError) -> [T] {
      guard let (text, n) = fields[key] else {
        if required {
          throw error(startLine, key, "a \(key)= line in the tree", "none")
        }
        return []
      }
      let tokens = text.split(separator: " ")
      if !required && tokens.isEmpty { return [] }
      guard tokens.count == count else {
        throw error(n, key, "\(count) values", "\(tokens.count)")
      }
      var out: [T] = []
      out.reserveCapacity(count)
      for token in tokens {
        guard let v = parse(token) else { throw error(n, key, expected, "\"\(token)\"") }
        out.append(v)
      }
      return out
    }
    guard let (leavesText, leavesLine) = fields["num_leaves"] else {
      throw error(startLine, "num_leaves", "a num_leaves= line in the tree", "none")
    }
    guard let leaves = Int(leavesText), leaves >= 1, leaves <= 10_000_000 else {
      throw error(leavesLine, "num_leaves", "a positive integer", "\"\(leavesText)\"")
    }
    guard let (catText, catLine) = fields["num_cat"] else {
      throw error(startLine, "num_cat", "a num_cat= line in the tree", "none")
    }
    guard catText == "0" else {
      throw error(catLine, "num_cat", "0 (categorical splits are not supported)", catText)
    }
    if let (linear, n) = fields["is_linear"], linear != "0" {
      throw error(n, "is_linear", "0 (linear trees are not supported)", linear)
    }
    let inner = leaves - 1
    let split = leaves > 1
    let leafValue = try values(
      "leaf_value", count: leaves, required: true, expected: "a finite number"
    ) {
      Double($0).flatMap { $0.isFinite ? $0 : nil }
    }
    let splitFeature = try values("split_feature", count: inner, required: split) { Int($0) }
    let threshold = try values(
      "threshold", count: inner, required: split, expected: "a number (not NaN)"
    ) {
      Double($0).flatMap { $0.isNaN ? nil : $0 }
    }
    let leftChild = try values("left_child", count: inner, required: split) { Int($0) }
    let rightChild = try values("right_child", count: inner, required: split) { Int($0) }
    var decisionType = try values("decision_type", count: inner, required: false) { UInt8($0) }
    if decisionType.isEmpty { decisionType = [UInt8](repeating: 0, count: inner) }
    let splitGain = try values("split_gain", count: inner, required: false) { Float($0) }
    let leafWeight = try values("leaf_weight", count: leaves, required: false) { Double($0) }
    let leafCount = try values("leaf_count", count: leaves, required: false) { Int($0) }
    let internalValue = try values("internal_value", count: inner, required: false) { Double($0) }
    let internalWeight = try values("internal_weight", count: inner, required: false) {
      Double($0)
    }
    let internalCount = try values("internal_count", count: inner, required: false) { Int($0) }
    var shrinkage = 1.0
    if let (text, n) = fields["shrinkage"] {
      guard let s = Double(text), s.isFinite else {
        throw error(n, "shrinkage", "a finite number", "\"\(text)\"")
      }
      shrinkage = s
    }
    let line = { (key: String) in fields[key]?.1 ?? startLine }
    for (i, f) in splitFeature.enumerated() where f < 0 || f >= featureCount {
      throw error(line("split_feature"), "split_feature[\(i)]", "0..<\(featureCount)", "\(f)")
    }
    for (i, d) in decisionType.enumerated() where d & 1 != 0 || (d >> 2) & 3 == 3 || d > 15 {
      throw error(
        line("decision_type"), "decision_type[\(i)]",
        "a numerical decision type (0, 2, 4, 6, 8 or 10)", "\(d)")
    }
    // Every node and leaf must be reached exactly once from the root: no cycles, no orphans.
    if split {
      var seenNode = [Bool](repeating: false, count: inner)
      var seenLeaf = [Bool](repeating: false, count: leaves)
      var stack = [0]
      seenNode[0] = true
      while let node = stack.popLast() {
        for (key, child) in [("left_child", leftChild[node]), ("right_child", rightChild[node])] {
          if child >= 0 {
            guard child < inner, !seenNode[child] else {
              throw error(
                line(key), "\(key)[\(node)]", "an unused node in 1..<\(inner)",
                "\(child)")
            }
            seenNode[child] = true
            stack.append(child)
          } else {
            // `~child` is `-child - 1` without overflow: -2^63 names no leaf, it does not trap.
            let leaf = ~child
            guard leaf < leaves, !seenLeaf[leaf] else {
              throw error(
                line(key), "\(key)[\(node)]", "an unused leaf -1...-\(leaves)",
                "\(child)")
            }
            seenLeaf[leaf] = true
          }
        }
      }
      if let missing = seenLeaf.firstIndex(of: false) {
        throw error(
          line("left_child"), "left_child/right_child",
          "every leaf reachable from the root", "leaf \(missing) unreachable")
      }
    }
    return Tree(
      numLeaves: leaves, splitFeature: splitFeature, splitGain: splitGain, threshold: threshold,
      decisionType: decisionType, leftChild: leftChild, rightChild: rightChild,
      leafValue: leafValue, leafWeight: leafWeight, leafCount: leafCount,
      internalValue: internalValue, internalWeight: internalWeight,
      internalCount: internalCount, shrinkage: shrinkage)
  }
}
