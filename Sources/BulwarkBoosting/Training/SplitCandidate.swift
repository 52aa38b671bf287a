/// The best split found for one leaf (LightGBM's `SplitInfo`).
struct SplitCandidate: Sendable {
  /// Gain minus the leaf's own gain and `minGainToSplit`; -infinity when there is no split.
  var gain = -Double.infinity
  /// Feature index, -1 when there is no split.
  var feature = -1
  /// Rows with a bin at most this go left.
  var thresholdBin = 0
  /// Side of missing values.
  var defaultLeft = true
  /// Sum of gradients going left.
  var leftSumGradient = 0.0
  /// Sum of hessians going left, without LightGBM's epsilons.
  var leftSumHessian = 0.0
  /// Sum of gradients going right.
  var rightSumGradient = 0.0
  /// Sum of hessians going right, without LightGBM's epsilons.
  var rightSumHessian = 0.0
  /// Output of the left child before shrinkage.
  var leftOutput = 0.0
  /// Output of the right child before shrinkage.
  var rightOutput = 0.0

  /// LightGBM's `SplitInfo::operator>`: higher gain, then the lower feature index.
  @inline(__always)
  func isBetter(than other: SplitCandidate) -> Bool {
    if gain != other.gain { return gain > other.gain }
    let mine = feature < 0 ? Int.max : feature
    let theirs = other.feature < 0 ? Int.max : other.feature
    return mine < theirs
  }
}
