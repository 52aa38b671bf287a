/// One regression tree in LightGBM's array layout (`Tree` in `tree.h`): internal nodes are
/// numbered in split order; a child index `c < 0` is the leaf `-c - 1`.
struct Tree: Equatable, Sendable {
  /// Number of leaves; internal nodes are one fewer.
  var numLeaves: Int
  /// Feature index of each internal node.
  var splitFeature: [Int]
  /// Gain of each split, stored as `float` by LightGBM.
  var splitGain: [Float]
  /// `x <= threshold` goes left.
  var threshold: [Double]
  /// Bit 1 default-left, bits 2-3 missing type (bit 0, categorical, is never set by Bulwark).
  var decisionType: [UInt8]
  /// Left child of each internal node.
  var leftChild: [Int]
  /// Right child of each internal node.
  var rightChild: [Int]
  /// Output of each leaf, learning rate applied.
  var leafValue: [Double]
  /// Sum of hessians in each leaf; empty when the file had none.
  var leafWeight: [Double]
  /// Training rows in each leaf; empty when the file had none.
  var leafCount: [Int]
  /// Output each internal node had as a leaf; empty when the file had none.
  var internalValue: [Double]
  /// Sum of hessians of each internal node; empty when the file had none.
  var internalWeight: [Double]
  /// Training rows of each internal node; empty when the file had none.
  var internalCount: [Int]
  /// Product of the learning rates applied (1 for iteration-0 and constant trees).
  var shrinkage: Double

  /// A tree of one leaf with the given output over `count` training rows, as LightGBM's Python
  /// package saves it (no leaf weight).
  static func constant(_ value: Double, count: Int) -> Tree {
    Tree(
      numLeaves: 1, splitFeature: [], splitGain: [], threshold: [], decisionType: [],
      leftChild: [], rightChild: [], leafValue: [value], leafWeight: [], leafCount: [count],
      internalValue: [], internalWeight: [], internalCount: [], shrinkage: 1)
  }

  /// The leaf a row of raw feature values reaches (`Tree::GetLeaf` / `NumericalDecision`).
  @inline(__always)
  func leaf(for row: UnsafeBufferPointer<Double>) -> Int {
    if numLeaves <= 1 { return 0 }
    var node = 0
    while node >= 0 {
      var x = row[splitFeature[node]]
      let type = decisionType[node]
      let missing = (type >> 2) & 3
      if x.isNaN && missing != MissingType.nan.rawValue { x = 0 }
      if (missing == MissingType.zero.rawValue && abs(x) <= LightGBMConstants.zeroThreshold)
        || (missing == MissingType.nan.rawValue && x.isNaN)
      {
        node = type & 2 != 0 ? leftChild[node] : rightChild[node]
      } else if x <= threshold[node] {
        node = leftChild[node]
      } else {
        node = rightChild[node]
      }
    }
    return -node - 1
  }

  /// Adds this tree's output for every row to `scores[row * stride + offset]`.
  /// - Parameters:
  ///   - features: Row-major rows of `columns` raw values.
  ///   - columns: Values per row.
  ///   - scores: Score buffer, `stride` values per row.
  ///   - stride: Scores per row.
  ///   - offset: This tree's score within a row.
  func addOutputs(
    features: UnsafeBufferPointer<Double>, columns: Int,
    to scores: UnsafeMutableBufferPointer<Double>, stride: Int, offset: Int
  ) {
    let rows = columns > 0 ? features.count / columns : 0
    precondition(scores.count >= rows * stride)
    guard let x = features.baseAddress, let scores = scores.baseAddress else { return }
    if numLeaves <= 1 {
      for r in 0..<rows { scores[r &* stride &+ offset] += leafValue[0] }
      return
    }
    splitFeature.withUnsafeBufferPointer { feature in
      threshold.withUnsafeBufferPointer { threshold in
        decisionType.withUnsafeBufferPointer { type in
          leftChild.withUnsafeBufferPointer { left in
            rightChild.withUnsafeBufferPointer { right in
              leafValue.withUnsafeBufferPointer { value in
                for r in 0..<rows {
                  let row = x + r &* columns
                  var node = 0
                  while node >= 0 {
                    var v = row[feature[node]]
                    let t = type[node]
                    let missing = (t >> 2) & 3
                    if v.isNaN && missing != 2 { v = 0 }
                    if (missing == 1 && abs(v) <= LightGBMConstants.zeroThreshold)
                      || (missing == 2 && v.isNaN)
                    {
                      node = t & 2 != 0 ? left[node] : right[node]
                    } else {
                      node = v <= threshold[node] ? left[node] : right[node]
                    }
                  }
                  scores[r &* stride &+ offset] += value[-node &- 1]
                }
              }
            }
          }
        }
      }
    }
  }

  /// The output for a row of raw feature values.
  @inline(__always)
  func output(for row: UnsafeBufferPointer<Double>) -> Double { leafValue[leaf(for: row)] }
}
