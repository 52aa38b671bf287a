/// Training parameters of the gradient-boosted trees, named and defaulted as in LightGBM 4.7.
///
/// Sampling (`featureFraction`, `baggingFraction`) uses Bulwark's own seeded generator: sampled
/// runs are reproducible for a seed but do not draw the rows or columns LightGBM would draw.
/// Without sampling, training grows the trees LightGBM grows.
public struct BoostingParameters: Codable, Equatable, Sendable {
  /// Shrinkage applied to every tree's outputs (LightGBM `learning_rate`).
  public var learningRate: Double
  /// Maximum number of leaves per tree (LightGBM `num_leaves`).
  public var numLeaves: Int
  /// Maximum depth of a leaf; -1 or 0 means no limit (LightGBM `max_depth`).
  public var maxDepth: Int
  /// Minimum rows per leaf, as estimated from hessians at split time (`min_data_in_leaf`).
  public var minDataInLeaf: Int
  /// Minimum sum of hessians per leaf (`min_sum_hessian_in_leaf`).
  public var minSumHessianInLeaf: Double
  /// L1 regularisation of leaf outputs (`lambda_l1`).
  public var lambdaL1: Double
  /// L2 regularisation of leaf outputs (`lambda_l2`).
  public var lambdaL2: Double
  /// Minimum gain a split must bring (`min_gain_to_split`).
  public var minGainToSplit: Double
  /// Number of boosting iterations; each grows one tree per class (`num_iterations`).
  public var rounds: Int
  /// Maximum number of bins per feature (`max_bin`).
  public var maxBin: Int
  /// Fraction of the usable features each tree may split on (`feature_fraction`).
  public var featureFraction: Double
  /// Fraction of rows each bag keeps (`bagging_fraction`); used when `baggingFrequency > 0`.
  public var baggingFraction: Double
  /// Draw a new bag every this many iterations; 0 turns bagging off (`bagging_freq`).
  public var baggingFrequency: Int
  /// Stop when validation multi_logloss has not improved for this many iterations; 0 is off.
  public var earlyStoppingRounds: Int
  /// Seed of the feature and row sampling.
  public var seed: UInt64
  /// Threads for histogram construction; 0 uses every core. Results do not depend on it.
  public var threads: Int

  /// Creates parameters; every default is LightGBM's.
  /// - Parameters: see the properties of the same names.
  public init(
    learningRate: Double = 0.1, numLeaves: Int = 31, maxDepth: Int = -1,
    minDataInLeaf: Int = 20, minSumHessianInLeaf: Double = 1e-3, lambdaL1: Double = 0,
    lambdaL2: Double = 0, minGainToSplit: Double = 0, rounds: Int = 100, maxBin: Int = 255,
    featureFraction: Double = 1, baggingFraction: Double = 1, baggingFrequency: Int = 0,
    earlyStoppingRounds: Int = 0, seed: UInt64 = 0, threads: Int = 0
  ) {
    self.learningRate = learningRate
    self.numLeaves = numLeaves
    self.maxDepth = maxDepth
    self.minDataInLeaf = minDataInLeaf
    self.minSumHessianInLeaf = minSumHessianInLeaf
    self.lambdaL1 = lambdaL1
    self.lambdaL2 = lambdaL2
    self.minGainToSplit = minGainToSplit
    self.rounds = rounds
    self.maxBin = maxBin
    self.featureFraction = featureFraction
    self.baggingFraction = baggingFraction
    self.baggingFrequency = baggingFrequency
    self.earlyStoppingRounds = earlyStoppingRounds
    self.seed = seed
    self.threads = threads
  }

  /// Checks every parameter against its valid range.
  /// - Throws: `BoostingError.invalidParameter` naming the first parameter out of range, the
  ///   range and the value found.
  public func validate() throws(BoostingError) {
    func check(_ ok: Bool, _ name: String, _ expected: String, _ found: Any) throws(BoostingError) {
      if !ok { throw .invalidParameter(name: name, expected: expected, found: "\(found)") }
    }
    try check(learningRate > 0 && learningRate.isFinite, "learningRate", "> 0", learningRate)
    try check(numLeaves >= 2 && numLeaves <= 131_072, "numLeaves", "2...131072", numLeaves)
    try check(maxDepth >= -1, "maxDepth", ">= -1", maxDepth)
    try check(minDataInLeaf >= 0, "minDataInLeaf", ">= 0", minDataInLeaf)
    try check(
      minSumHessianInLeaf >= 0 && minSumHessianInLeaf.isFinite, "minSumHessianInLeaf",
      "finite >= 0", minSumHessianInLeaf)
    try check(lambdaL1 >= 0 && lambdaL1.isFinite, "lambdaL1", "finite >= 0", lambdaL1)
    try check(lambdaL2 >= 0 && lambdaL2.isFinite, "lambdaL2", "finite >= 0", lambdaL2)
    try check(
      minGainToSplit >= 0 && minGainToSplit.isFinite, "minGainToSplit", "finite >= 0",
      minGainToSplit)
    try check(rounds >= 1, "rounds", ">= 1", rounds)
    try check(maxBin >= 2 && maxBin <= 65_535, "maxBin", "2...65535", maxBin)
    try check(
      featureFraction > 0 && featureFraction <= 1, "featureFraction", "in (0, 1]",
      featureFraction)
    try check(
      baggingFraction > 0 && baggingFraction <= 1, "baggingFraction", "in (0, 1]",
      baggingFraction)
    try check(baggingFrequency >= 0, "baggingFrequency", ">= 0", baggingFrequency)
    try check(earlyStoppingRounds >= 0, "earlyStoppingRounds", ">= 0", earlyStoppingRounds)
    try check(threads >= 0, "threads", ">= 0", threads)
  }
}
