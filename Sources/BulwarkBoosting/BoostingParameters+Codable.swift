extension BoostingParameters {
  enum CodingKeys: String, CodingKey {
    case learningRate, numLeaves, maxDepth, minDataInLeaf, minSumHessianInLeaf, lambdaL1
    case lambdaL2, minGainToSplit, rounds, maxBin, featureFraction, baggingFraction
    case baggingFrequency, earlyStoppingRounds, seed, threads
  }

  /// Decodes parameters; a missing key keeps LightGBM's default.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` when a present key has the wrong type.
  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let d = BoostingParameters()
    self.init(
      learningRate: try c.decodeIfPresent(Double.self, forKey: .learningRate) ?? d.learningRate,
      numLeaves: try c.decodeIfPresent(Int.self, forKey: .numLeaves) ?? d.numLeaves,
      maxDepth: try c.decodeIfPresent(Int.self, forKey: .maxDepth) ?? d.maxDepth,
      minDataInLeaf: try c.decodeIfPresent(Int.self, forKey: .minDataInLeaf) ?? d.minDataInLeaf,
      minSumHessianInLeaf: try c.decodeIfPresent(Double.self, forKey: .minSumHessianInLeaf)
        ?? d.minSumHessianInLeaf,
      lambdaL1: try c.decodeIfPresent(Double.self, forKey: .lambdaL1) ?? d.lambdaL1,
      lambdaL2: try c.decodeIfPresent(Double.self, forKey: .lambdaL2) ?? d.lambdaL2,
      minGainToSplit: try c.decodeIfPresent(Double.self, forKey: .minGainToSplit)
        ?? d.minGainToSplit,
      rounds: try c.decodeIfPresent(Int.self, forKey: .rounds) ?? d.rounds,
      maxBin: try c.decodeIfPresent(Int.self, forKey: .maxBin) ?? d.maxBin,
      featureFraction: try c.decodeIfPresent(Double.self, forKey: .featureFraction)
        ?? d.featureFraction,
      baggingFraction: try c.decodeIfPresent(Double.self, forKey: .baggingFraction)
        ?? d.baggingFraction,
      baggingFrequency: try c.decodeIfPresent(Int.self, forKey: .baggingFrequency)
        ?? d.baggingFrequency,
      earlyStoppingRounds: try c.decodeIfPresent(Int.self, forKey: .earlyStoppingRounds)
        ?? d.earlyStoppingRounds,
      seed: try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed,
      threads: try c.decodeIfPresent(Int.self, forKey: .threads) ?? d.threads)
  }
}
