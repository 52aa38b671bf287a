/// LightGBM's bin-boundary search (`GreedyFindBin` and `FindBinWithZeroAsOneBin` in
/// `bin.cpp`), step for step, so that Bulwark's bins equal LightGBM's.
enum GreedyBinner {
  /// `nextafter(value, +inf)`.
  static func upperBound(_ value: Double) -> Double { value.nextUp }

  /// True when `b` is at most one ulp above `a` (`CheckDoubleEqualOrdered`).
  static func equalOrdered(_ a: Double, _ b: Double) -> Bool { b <= a.nextUp }

  /// Upper bounds of at most `maxBin` bins over sorted distinct values; the last is +infinity.
  static func findBins(
    values: ArraySlice<Double>, counts: ArraySlice<Int>, maxBin: Int, total: Int,
    minDataInBin: Int
  ) -> [Double] {
    let v = Array(values)
    let c = Array(counts)
    let n = v.count
    var bounds: [Double] = []
    if n <= maxBin {
      var inBin = 0
      for i in 0..<max(0, n - 1) {
        inBin += c[i]
        if inBin >= minDataInBin {
          let b = upperBound((v[i] + v[i + 1]) / 2.0)
          if bounds.isEmpty || !equalOrdered(bounds[bounds.count - 1], b) {
            bounds.append(b)
            inBin = 0
          }
        }
      }
      bounds.append(.infinity)
      return bounds
    }
    var maxBin = maxBin
    if minDataInBin > 0 { maxBin = max(min(maxBin, total / minDataInBin), 1) }
    var mean = Double(total) / Double(maxBin)
    var restBins = maxBin
    var restCount = total
    var isBig = [Bool](repeating: false, count: n)
    for i in 0..<n where Double(c[i]) >= mean {
      isBig[i] = true
      restBins -= 1
      restCount -= c[i]
    }
    mean = Double(restCount) / Double(restBins)
    var upper = [Double](repeating: .infinity, count: maxBin)
    var lower = [Double](repeating: .infinity, count: maxBin)
    var binCount = 0
    lower[0] = v[0]
    var inBin = 0
    for i in 0..<(n - 1) {
      if !isBig[i] { restCount -= c[i] }
      inBin += c[i]
      if isBig[i] || Double(inBin) >= mean
        || (isBig[i + 1] && Double(inBin) >= max(1.0, mean * 0.5))
      {
        upper[binCount] = v[i]
        binCount += 1
        lower[binCount] = v[i + 1]
        if binCount >= maxBin - 1 { break }
        inBin = 0
        if !isBig[i] {
          restBins -= 1
          mean = Double(restCount) / Double(restBins)
        }
      }
    }
    binCount += 1
    for i in 0..<(binCount - 1) {
      let b = upperBound((upper[i] + lower[i + 1]) / 2.0)
      if bounds.isEmpty || !equalOrdered(bounds[bounds.count - 1], b) { bounds.append(b) }
    }
    bounds.append(.infinity)
    return bounds
  }

  /// Bin upper bounds keeping (-kZ, kZ] as one bin of its own (`FindBinWithZeroAsOneBin`).
  static func findBinsWithZeroBin(
    values: [Double], counts: [Int], maxBin: Int, total: Int, minDataInBin: Int
  ) -> [Double] {
    let kZ = LightGBMConstants.zeroThreshold
    var leftData = 0
    var zeroData = 0
    var rightData = 0
    for (v, c) in zip(values, counts) {
      if v <= -kZ {
        leftData += c
      } else if v > kZ {
        rightData += c
      } else {
        zeroData += c
      }
    }
    let leftCount = values.firstIndex { $0 > -kZ } ?? values.count
    var bounds: [Double] = []
    if leftCount > 0 && maxBin > 1 {
      let share = Double(leftData) / Double(total - zeroData) * Double(maxBin - 1)
      let leftMaxBin = max(1, Int(share))
      bounds = findBins(
        values: values[0..<leftCount], counts: counts[0..<leftCount], maxBin: leftMaxBin,
        total: leftData, minDataInBin: minDataInBin)
      if !bounds.isEmpty { bounds[bounds.count - 1] = -kZ }
    }
    let rightStart = values[leftCount...].firstIndex { $0 > kZ }
    let rightMaxBin = maxBin - 1 - bounds.count
    if let rightStart, rightMaxBin > 0 {
      let right = findBins(
        values: values[rightStart...], counts: counts[rightStart...], maxBin: rightMaxBin,
        total: rightData, minDataInBin: minDataInBin)
      bounds.append(kZ)
      bounds.append(contentsOf: right)
    } else {
      bounds.append(.infinity)
    }
    return bounds
  }
}
