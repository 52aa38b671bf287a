/// One feature's bins as LightGBM builds them (`BinMapper::FindBin`): upper bounds, missing type,
/// the range written to `feature_infos`, and whether the feature can be split on at all.
struct FeatureBinning: Equatable, Sendable {
  /// Upper bound of each bin; with `missingType == .nan` the last bin holds NaN only.
  var upperBounds: [Double]
  /// `.nan` when the training column had NaNs, otherwise `.none`.
  var missingType: MissingType
  /// False for a trivial feature (one bin) or one no cut could split with `minDataInLeaf` rows
  /// on both sides; LightGBM writes `none` for it in `feature_infos`.
  var isUsed: Bool
  /// Smallest distinct value, zero included when zeros occur.
  var minValue: Double
  /// Largest distinct value, zero included when zeros occur.
  var maxValue: Double
  /// LightGBM's `most_freq_bin_`: its histogram entry is the leaf sum minus the other bins.
  var mostFrequentBin = 0

  /// Number of bins, the NaN bin included.
  var binCount: Int { upperBounds.count }

  /// Bins one column of training values.
  /// - Parameters:
  ///   - column: The feature's value in every training row.
  ///   - maxBin: Maximum number of bins.
  ///   - minDataInLeaf: Rows each side of some cut must have for the feature to be used.
  init(column: [Double], maxBin: Int, minDataInLeaf: Int) {
    let kZ = LightGBMConstants.zeroThreshold
    let total = column.count
    var sample: [Double] = []
    sample.reserveCapacity(total)
    var nanCount = 0
    for v in column {
      if v.isNaN {
        nanCount += 1
      } else if abs(v) > kZ {
        sample.append(v)
      }
    }
    let zeroCount = total - sample.count - nanCount
    sample.sort()
    var distinct: [Double] = []
    var counts: [Int] = []
    if sample.isEmpty || (sample[0] > 0 && zeroCount > 0) {
      distinct.append(0)
      counts.append(zeroCount)
    }
    if let first = sample.first {
      distinct.append(first)
      counts.append(1)
    }
    if sample.count > 1 {
      for i in 1..<sample.count {
        if !GreedyBinner.equalOrdered(sample[i - 1], sample[i]) {
          if sample[i - 1] < 0 && sample[i] > 0 {
            distinct.append(0)
            counts.append(zeroCount)
          }
          distinct.append(sample[i])
          counts.append(1)
        } else {
          distinct[distinct.count - 1] = sample[i]
          counts[counts.count - 1] += 1
        }
      }
    }
    if let last = sample.last, last < 0, zeroCount > 0 {
      distinct.append(0)
      counts.append(zeroCount)
    }
    minValue = distinct[0]
    maxValue = distinct[distinct.count - 1]
    if nanCount == 0 {
      missingType = .none
      upperBounds = GreedyBinner.findBinsWithZeroBin(
        values: distinct, counts: counts, maxBin: maxBin, total: total,
        minDataInBin: LightGBMConstants.minDataInBin)
    } else {
      missingType = .nan
      upperBounds = GreedyBinner.findBinsWithZeroBin(
        values: distinct, counts: counts, maxBin: maxBin - 1, total: total - nanCount,
        minDataInBin: LightGBMConstants.minDataInBin)
      upperBounds.append(.nan)
    }
    let binCount = upperBounds.count
    var countInBin = [Int](repeating: 0, count: binCount)
    var bin = 0
    for (v, c) in zip(distinct, counts) {
      while v > upperBounds[bin] && bin < binCount - 1 { bin += 1 }
      countInBin[bin] += c
    }
    if missingType == .nan { countInBin[binCount - 1] = nanCount }
    if binCount <= 1 {
      isUsed = false
    } else {
      // LightGBM's `NeedFilter`: some cut must leave minDataInLeaf rows on both sides.
      var left = 0
      var usable = false
      for c in countInBin.dropLast() {
        left += c
        if left >= minDataInLeaf && total - left >= minDataInLeaf {
          usable = true
          break
        }
      }
      isUsed = usable
    }
    if isUsed {
      // BinMapper::FindBin: the most frequent bin, unless sparse data is rare (< 70%).
      var most = 0
      for (i, c) in countInBin.enumerated() where c > countInBin[most] { most = i }
      let defaultBin = self.bin(of: 0)
      if most != defaultBin && Double(countInBin[most]) / Double(total) < 0.7 {
        most = defaultBin
      }
      mostFrequentBin = most
    }
  }

  /// Builds a binning from known parts (tests and loaded models).
  init(
    upperBounds: [Double], missingType: MissingType, isUsed: Bool, minValue: Double,
    maxValue: Double
  ) {
    self.upperBounds = upperBounds
    self.missingType = missingType
    self.isUsed = isUsed
    self.minValue = minValue
    self.maxValue = maxValue
  }

  /// The bin of one value (`BinMapper::ValueToBin`).
  func bin(of value: Double) -> Int {
    var v = value
    if v.isNaN {
      if missingType == .nan { return binCount - 1 }
      v = 0
    }
    var l = 0
    var r = binCount - 1
    if missingType == .nan { r -= 1 }
    while l < r {
      let m = (r + l - 1) / 2
      if v <= upperBounds[m] {
        r = m
      } else {
        l = m + 1
      }
    }
    return l
  }
}
