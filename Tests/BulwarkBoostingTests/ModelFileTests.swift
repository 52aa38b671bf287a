import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkBoosting

@Suite struct ModelFileTests {
  @Test func predictsTheHandWrittenFixture() throws {
    let model = try BoostedTrees(modelText: try Fixtures.text("hand_written.txt"))
    #expect(model.classes == 2 && model.featureCount == 2 && model.iterationCount == 1)
    let x: [Double] = [0, .nan, 1, 2, -1, 1, .nan, 0]
    #expect(try model.rawScores(x, rows: 4) == [1, 0.25, -1, -0.5, 1, 0.75, 1, 0.25])
    let p = try model.probabilities([1, 2], rows: 1)
    #expect(abs(p[0] - 1 / (1 + exp(0.5))) < 1e-15)
  }

  @Test func rewritesTheHandWrittenFixtureToTheByte() throws {
    let text = try Fixtures.text("hand_written.txt")
    #expect(try BoostedTrees(modelText: text).modelText() == text)
  }

  @Test func roundTripsATrainedModelToTheByte() throws {
    var (x, y) = Fixtures.softmaxLike(rows: 300, classes: 3, seed: 5)
    for i in stride(from: 0, to: x.count, by: 7) { x[i] = .nan }
    let model = try BoostedTrees.fit(
      features: x, rows: 300, columns: 3, labels: y, classes: 3,
      parameters: BoostingParameters(numLeaves: 6, rounds: 4))
    let text = model.modelText()
    let loaded = try BoostedTrees(modelText: text)
    #expect(loaded.modelText() == text)
    #expect(try loaded.rawScores(x, rows: 300) == model.rawScores(x, rows: 300))
    let scratch = try ScratchFolder("bulwark-boosting")
    let url = scratch.url("file.txt")
    try model.write(to: url)
    #expect(try BoostedTrees(contentsOf: url).modelText() == text)
  }

  @Test func acceptsCRLFLineEndingsWithoutTreeSizes() throws {
    let text = try Fixtures.text("hand_written.txt")
      .replacingOccurrences(of: "tree_sizes=243 282\n", with: "")
      .replacingOccurrences(of: "\n", with: "\r\n")
    let model = try BoostedTrees(modelText: text)
    #expect(try model.rawScores([1, 2], rows: 1) == [-1, -0.5])
  }

  @Test(arguments: [
    ("tree_sizes=243 282", "tree_sizes=243 283", 31, "tree_sizes[1]"),
    ("tree_sizes=243 282", "tree_sizes=243", 10, "tree_sizes"),
    ("leaf_value=1 -1", "leaf_value=1 abc", 21, "leaf_value"),
    ("leaf_value=1 -1", "leaf_value=1", 21, "leaf_value"),
    ("num_class=2\n", "", 11, "num_class"),
    ("tree\n", "forest\n", 1, "first line"),
    ("right_child=-3 -1", "right_child=-3 1", 39, "right_child[1]"),
    ("split_feature=0\n", "split_feature=2\n", 15, "split_feature[0]"),
    ("objective=multiclass num_class:2", "objective=binary", 7, "objective"),
    // Garbage LightGBM never writes: non-finite values, trees out of order, a child index of
    // -2^63 (whose leaf number -c - 1 overflowed).
    ("leaf_value=1 -1", "leaf_value=nan -1", 21, "leaf_value"),
    ("leaf_value=1 -1", "leaf_value=1 inf", 21, "leaf_value"),
    ("threshold=0.5", "threshold=nan", 17, "threshold"),
    ("shrinkage=1", "shrinkage=-inf", 28, "shrinkage"),
    ("Tree=1\n", "Tree=0\n", 31, "Tree="),
    ("Tree=0\n", "Tree=-1\n", 12, "Tree="),
    ("right_child=-3 -1", "right_child=-3 -9223372036854775808", 39, "right_child[1]"),
  ])
  func rejectsMalformedFiles(old: String, new: String, line: Int, field: String) throws {
    let text = try Fixtures.text("hand_written.txt")
    let broken = text.replacingOccurrences(of: old, with: new)
    #expect(broken != text)
    #expect {
      try BoostedTrees(modelText: broken)
    } throws: { error in
      guard case .malformedModel(_, let l, let f, _, _) = error as? BoostingError else {
        return false
      }
      return l == line && f == field
    }
  }

  /// An error in a model file names that file, not `model.txt` whatever the file.
  @Test func namesTheFileOfAMalformedModel() throws {
    let scratch = try ScratchFolder("bulwark-model-file")
    let url = scratch.url.appendingPathComponent("trees.txt")
    let text = try Fixtures.text("hand_written.txt")
    try Data(text.replacingOccurrences(of: "tree\n", with: "forest\n").utf8).write(to: url)
    #expect {
      try BoostedTrees(contentsOf: url)
    } throws: { error in
      "\(error)".hasPrefix("\(url.path) line 1, first line: expected")
    }
  }

  @Test func rejectsATruncatedTree() throws {
    let text = try Fixtures.text("hand_written.txt")
    let cut = String(
      text.prefix(
        upTo: try #require(text.range(of: "leaf_weight=1 1 2"))
          .lowerBound))
    #expect(throws: BoostingError.self) { try BoostedTrees(modelText: cut) }
  }
}
