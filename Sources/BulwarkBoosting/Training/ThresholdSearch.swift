/// The best threshold of one feature in one leaf, scanning its histogram as LightGBM's
/// `FeatureHistogram::FindBestThresholdSequentially` does: row counts estimated from hessians,
/// ties to the higher bin.
struct ThresholdSearch {
  let lambdaL1: Double
  let lambdaL2: Double
  let minDataInLeaf: Int
  let minSumHessian: Double
  let minGainToSplit: Double

  init(_ p: BoostingParameters) {
    lambdaL1 = p.lambdaL1
    lambdaL2 = p.lambdaL2
    minDataInLeaf = p.minDataInLeaf
    minSumHessian = p.minSumHessianInLeaf
    minGainToSplit = p.minGainToSplit
  }

  /// `ThresholdL1`: shrinks a gradient sum towards 0 by `lambdaL1`.
  @inline(__always)
  func thresholdL1(_ s: Double) -> Double {
    if lambdaL1 == 0 { return s }
    let reg = max(0, abs(s) - lambdaL1)
    let sign: Double = s > 0 ? 1 : (s < 0 ? -1 : 0)
    return sign * reg
  }

  @inline(__always)
  func leafGain(_ g: Double, _ h: Double) -> Double {
    let t = thresholdL1(g)
    return (t * t) / (h + lambdaL2)
  }

  /// `leafGain(lG, lH) + leafGain(rG, rH)` with both divisions in one SIMD instruction: the
  /// same IEEE results as two scalar divisions.
  @inline(__always)
  func splitGain(_ lG: Double, _ lH: Double, _ rG: Double, _ rH: Double, useL1: Bool) -> Double {
    let t = useL1 ? SIMD2(thresholdL1(lG), thresholdL1(rG)) : SIMD2(lG, rG)
    let q = (t * t) / SIMD2(lH + lambdaL2, rH + lambdaL2)
    return q[0] + q[1]
  }

  @inline(__always)
  func leafOutput(_ g: Double, _ h: Double) -> Double {
    -thresholdL1(g) / (h + lambdaL2)
  }

  /// Best cut of one scan direction; the result of a scan that found no candidate has
  /// gain -infinity.
  @inline(__always)
  private func scan(
    _ histogram: UnsafePointer<Double>, binCount: Int, mostFrequentBin: Int, reverse: Bool,
    nanAsMissing: Bool, sumGradient: Double, sumHessian: Double, count: Int, shift: Double,
    useL1: Bool, splittable: inout Bool
  ) -> (gain: Double, leftG: Double, leftH: Double, threshold: Int) {
    let eps = LightGBMConstants.epsilon
    let countFactor = Double(count) / sumHessian
    var bestGain = -Double.infinity
    var bestLeftG = Double.nan
    var bestLeftH = Double.nan
    var bestThreshold = binCount
    if reverse {
      var rG = 0.0
      var rH = eps
      var rC = 0
      var t = binCount - 1 - (nanAsMissing ? 1 : 0)
      while t >= 1 {
        defer { t -= 1 }
        let h = histogram[2 &* t &+ 1]
        let g = histogram[2 &* t]
        rG += g
        rH += h
        rC &+= Int(h * countFactor + 0.5)
        if rC < minDataInLeaf || rH < minSumHessian { continue }
        if count - rC < minDataInLeaf { break }
        let lH = sumHessian - rH
        if lH < minSumHessian { break }
        let lG = sumGradient - rG
        let gain = splitGain(lG, lH, rG, rH, useL1: useL1)
        if gain <= shift { continue }
        splittable = true
        if gain > bestGain {
          bestLeftG = lG
          bestLeftH = lH
          bestThreshold = t - 1
          bestGain = gain
        }
      }
    } else {
      var lG = 0.0
      var lH = eps
      var lC = 0
      var t = 0
      if mostFrequentBin == 0 {
        // LightGBM keeps no histogram entry for a most frequent bin 0: bin 0 is the leaf's
        // sums minus every other bin, and the scan starts with it alone on the left.
        lG = sumGradient
        lH = sumHessian - eps
        lC = count
        for i in 1..<binCount {
          let h = histogram[2 &* i &+ 1]
          lG -= histogram[2 &* i]
          lH -= h
          lC &-= Int(h * countFactor + 0.5)
        }
        t = -1
      }
      while t <= binCount - 2 {
        // After the implicit bin 0 (t = -1), the scan goes on with bin 1.
        defer { t += t == -1 ? 2 : 1 }
        if t >= 0 {
          let h = histogram[2 &* t &+ 1]
          let g = histogram[2 &* t]
          lG += g
          lH += h
          lC &+= Int(h * countFactor + 0.5)
        }
        if lC < minDataInLeaf || lH < minSumHessian { continue }
        if count - lC < minDataInLeaf { break }
        let rH = sumHessian - lH
        if rH < minSumHessian { break }
        let rG = sumGradient - lG
        let gain = splitGain(lG, lH, rG, rH, useL1: useL1)
        if gain <= shift { continue }
        splittable = true
        if gain > bestGain {
          bestLeftG = lG
          bestLeftH = lH
          bestThreshold = max(t, 0)
          bestGain = gain
        }
      }
    }
    return (bestGain, bestLeftG, bestLeftH, bestThreshold)
  }

  /// Scans one feature's histogram; returns the best split found (or an empty candidate) and
  /// whether any cut passed the constraints with a positive gain ("splittable").
  /// - Parameters:
  ///   - histogram: Interleaved (gradient, hessian) Double sums, one pair per bin.
  ///   - binCount: Bins of the feature, the NaN bin included.
  ///   - missingType: The feature's missing type.
  ///   - mostFrequentBin: LightGBM's most frequent bin; bin 0 is then implicit.
  ///   - sumGradient: The leaf's gradient sum.
  ///   - sumHessian: The leaf's hessian sum (without epsilons).
  ///   - count: Rows in the leaf.
  ///   - feature: Feature index recorded in the candidate.
  /// - Returns: The best candidate (gain -infinity when none) and the splittable flag.
  func best(
    histogram: UnsafePointer<Double>, binCount: Int, missingType: MissingType,
    mostFrequentBin: Int, sumGradient: Double, sumHessian: Double, count: Int,
    feature: Int
  ) -> (SplitCandidate, Bool) {
    let eps = LightGBMConstants.epsilon
    let sumHessian = sumHessian + 2 * eps
    let shift = leafGain(sumGradient, sumHessian) + minGainToSplit
    var out = SplitCandidate()
    var splittable = false

    func run(reverse: Bool, nanAsMissing: Bool) {
      // Two copies of the scan, so that the common lambdaL1 = 0 has no per-bin branch.
      let r =
        lambdaL1 == 0
        ? scan(
          histogram, binCount: binCount, mostFrequentBin: mostFrequentBin, reverse: reverse,
          nanAsMissing: nanAsMissing, sumGradient: sumGradient, sumHessian: sumHessian,
          count: count, shift: shift, useL1: false, splittable: &splittable)
        : scan(
          histogram, binCount: binCount, mostFrequentBin: mostFrequentBin, reverse: reverse,
          nanAsMissing: nanAsMissing, sumGradient: sumGradient, sumHessian: sumHessian,
          count: count, shift: shift, useL1: true, splittable: &splittable)
      let bestGain = r.gain
      let bestLeftG = r.leftG
      let bestLeftH = r.leftH
      let bestThreshold = r.threshold
      if splittable && bestGain > out.gain + shift {
        out.thresholdBin = bestThreshold
        out.feature = feature
        out.leftOutput = leafOutput(bestLeftG, bestLeftH)
        out.leftSumGradient = bestLeftG
        out.leftSumHessian = bestLeftH - eps
        out.rightOutput = leafOutput(sumGradient - bestLeftG, sumHessian - bestLeftH)
        out.rightSumGradient = sumGradient - bestLeftG
        out.rightSumHessian = sumHessian - bestLeftH - eps
        out.gain = bestGain - shift
        out.defaultLeft = reverse
      }
    }

    if binCount > 2 && missingType == .nan {
      run(reverse: true, nanAsMissing: true)
      run(reverse: false, nanAsMissing: true)
    } else {
      run(reverse: true, nanAsMissing: false)
      // LightGBM's fix for two bins: NaN, alone in the last bin, goes right.
      if missingType == .nan { out.defaultLeft = false }
    }
    return (out, splittable)
  }
}
