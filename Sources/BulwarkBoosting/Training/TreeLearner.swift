import BulwarkCore

/// Grows one tree leaf-wise from Float32 gradients and hessians over binned features, as
/// LightGBM's `SerialTreeLearner` does: Double histograms accumulated in row order, the smaller
/// child built and the larger one subtracted from its parent, best-gain leaf split first.
final class TreeLearner {
  let rows: Int
  let binnings: [FeatureBinning]
  /// Bins stored feature-major: `bins[feature * rows + row]`.
  private let bins: UnsafeMutablePointer<UInt16>
  let binOffset: [Int]
  let binCounts: [Int]
  let missingTypes: [MissingType]
  let mostFrequentBins: [Int]
  let totalBins: Int
  let parameters: BoostingParameters
  let search: ThresholdSearch
  let threads: Int

  // Buffers the learner owns, sized once (rows >= 1, features >= 1): the hot loops index them
  // without bounds or exclusivity checks.
  /// Rows of every leaf, contiguous per leaf, in original row order within a leaf.
  let indices: UnsafeMutablePointer<Int32>
  private let scratch: UnsafeMutablePointer<Int32>
  private let histograms: UnsafeMutablePointer<Double>
  private let orderedGradients: UnsafeMutablePointer<Float>
  private let orderedHessians: UnsafeMutablePointer<Float>
  private(set) var leafBegin: [Int]
  private(set) var leafCount: [Int]
  private var splittable: [Bool]

  init(
    rows: Int, binnings: [FeatureBinning], bins: [UInt16], parameters: BoostingParameters,
    threads: Int
  ) {
    precondition(rows >= 1 && !binnings.isEmpty && bins.count == rows * binnings.count)
    self.rows = rows
    self.binnings = binnings
    self.bins = .allocate(capacity: bins.count)
    self.bins.initialize(from: bins, count: bins.count)
    self.parameters = parameters
    self.search = ThresholdSearch(parameters)
    self.threads = threads
    var offsets: [Int] = []
    var total = 0
    for b in binnings {
      offsets.append(total)
      total += b.binCount
    }
    binOffset = offsets
    binCounts = binnings.map(\.binCount)
    missingTypes = binnings.map(\.missingType)
    mostFrequentBins = binnings.map(\.mostFrequentBin)
    totalBins = total
    indices = .allocate(capacity: rows)
    indices.initialize(repeating: 0, count: rows)
    scratch = .allocate(capacity: rows)
    scratch.initialize(repeating: 0, count: rows)
    histograms = .allocate(capacity: parameters.numLeaves * total * 2)
    histograms.initialize(repeating: 0, count: parameters.numLeaves * total * 2)
    orderedGradients = .allocate(capacity: rows)
    orderedGradients.initialize(repeating: 0, count: rows)
    orderedHessians = .allocate(capacity: rows)
    orderedHessians.initialize(repeating: 0, count: rows)
    leafBegin = [Int](repeating: 0, count: parameters.numLeaves)
    leafCount = [Int](repeating: 0, count: parameters.numLeaves)
    splittable = [Bool](repeating: false, count: parameters.numLeaves * binnings.count)
  }

  deinit {
    bins.deallocate()
    indices.deallocate()
    scratch.deallocate()
    histograms.deallocate()
    orderedGradients.deallocate()
    orderedHessians.deallocate()
  }

  /// Grows one tree; afterwards `indices`, `leafBegin` and `leafCount` give each leaf's rows.
  /// - Parameters:
  ///   - gradients: One gradient per training row.
  ///   - hessians: One hessian per training row.
  ///   - bag: The rows to train on, ascending; nil for all rows.
  ///   - featureAllowed: Features this tree may split on.
  /// - Returns: The tree, before shrinkage; nil when the root cannot be split.
  func grow(
    gradients: UnsafeBufferPointer<Float>, hessians: UnsafeBufferPointer<Float>, bag: [Int32]?,
    featureAllowed: [Bool]
  ) -> Tree? {
    let features = binnings.count
    let numLeaves = parameters.numLeaves
    let count: Int
    if let bag {
      for (i, r) in bag.enumerated() { indices[i] = r }
      count = bag.count
    } else {
      for i in 0..<rows { indices[i] = Int32(i) }
      count = rows
    }
    leafBegin[0] = 0
    leafCount[0] = count
    var sumG = 0.0
    var sumH = 0.0
    for i in 0..<count {
      let r = Int(indices[i])
      sumG += Double(gradients[r])
      sumH += Double(hessians[r])
    }
    var leafSumG = [Double](repeating: 0, count: numLeaves)
    var leafSumH = [Double](repeating: 0, count: numLeaves)
    var leafDepth = [Int](repeating: 0, count: numLeaves)
    var leafParent = [Int](repeating: -1, count: numLeaves)
    var best = [SplitCandidate](repeating: SplitCandidate(), count: numLeaves)
    leafSumG[0] = sumG
    leafSumH[0] = sumH
    for f in 0..<features { splittable[f] = featureAllowed[f] && binnings[f].isUsed }

    var tree = Tree(
      numLeaves: 1, splitFeature: [], splitGain: [], threshold: [], decisionType: [],
      leftChild: [], rightChild: [], leafValue: [search.leafOutput(sumG, sumH)],
      leafWeight: [sumH], leafCount: [count], internalValue: [], internalWeight: [],
      internalCount: [], shrinkage: 1)

    if count >= 2 * parameters.minDataInLeaf {
      buildHistogram(leaf: 0, gradients: gradients, hessians: hessians)
      fixHistogram(leaf: 0, sumG: sumG, sumH: sumH)
      best[0] = findBestSplit(leaf: 0, sumG: sumG, sumH: sumH)
    }
    for _ in 0..<(numLeaves - 1) {
      var bestLeaf = 0
      for l in 1..<tree.numLeaves where best[l].isBetter(than: best[bestLeaf]) { bestLeaf = l }
      let split = best[bestLeaf]
      if !(split.gain > 0) { break }
      let left = bestLeaf
      let right = tree.numLeaves
      let f = split.feature
      let binning = binnings[f]
      // Tree::Split and NumericalSplit
      let node = tree.numLeaves - 1
      let parent = leafParent[left]
      if parent >= 0 {
        if tree.leftChild[parent] == -left - 1 {
          tree.leftChild[parent] = node
        } else {
          tree.rightChild[parent] = node
        }
      }
      partition(
        leaf: left, into: right, feature: f, thresholdBin: split.thresholdBin,
        defaultLeft: split.defaultLeft,
        nanBin: binning.missingType == .nan
          ? binning.binCount - 1 : -1)
      tree.splitFeature.append(f)
      tree.splitGain.append(Float(split.gain))
      tree.threshold.append(binning.upperBounds[split.thresholdBin])
      tree.decisionType.append(
        (split.defaultLeft ? 2 : 0) | (binning.missingType.rawValue << 2))
      tree.leftChild.append(-left - 1)
      tree.rightChild.append(-right - 1)
      tree.internalWeight.append(tree.leafWeight[left])
      tree.internalValue.append(tree.leafValue[left])
      tree.internalCount.append(leafCount[left] + leafCount[right])
      leafParent[left] = node
      leafParent[right] = node
      tree.leafValue[left] = split.leftOutput.isNaN ? 0 : split.leftOutput
      tree.leafWeight[left] = split.leftSumHessian
      tree.leafCount[left] = leafCount[left]
      tree.leafValue.append(split.rightOutput.isNaN ? 0 : split.rightOutput)
      tree.leafWeight.append(split.rightSumHessian)
      tree.leafCount.append(leafCount[right])
      tree.numLeaves += 1
      leafDepth[right] = leafDepth[left] + 1
      leafDepth[left] += 1
      leafSumG[left] = split.leftSumGradient
      leafSumH[left] = split.leftSumHessian
      leafSumG[right] = split.rightSumGradient
      leafSumH[right] = split.rightSumHessian

      // SerialTreeLearner::BeforeFindBestSplit
      let minRows = 2 * parameters.minDataInLeaf
      if (parameters.maxDepth > 0 && leafDepth[left] >= parameters.maxDepth)
        || (leafCount[left] < minRows && leafCount[right] < minRows)
      {
        best[left] = SplitCandidate()
        best[right] = SplitCandidate()
        continue
      }
      for f in 0..<features { splittable[right * features + f] = splittable[left * features + f] }
      let smallerIsLeft = leafCount[left] < leafCount[right]
      if smallerIsLeft {
        copyHistogram(from: left, to: right)
        buildHistogram(leaf: left, gradients: gradients, hessians: hessians)
        fixHistogram(leaf: left, sumG: leafSumG[left], sumH: leafSumH[left])
        subtractHistogram(from: right, minus: left)
      } else {
        buildHistogram(leaf: right, gradients: gradients, hessians: hessians)
        fixHistogram(leaf: right, sumG: leafSumG[right], sumH: leafSumH[right])
        subtractHistogram(from: left, minus: right)
      }
      best[left] = findBestSplit(leaf: left, sumG: leafSumG[left], sumH: leafSumH[left])
      best[right] = findBestSplit(leaf: right, sumG: leafSumG[right], sumH: leafSumH[right])
    }
    return tree.numLeaves > 1 ? tree : nil
  }

  /// Stable partition of a leaf's rows: the left part keeps the leaf id.
  private func partition(
    leaf: Int, into right: Int, feature: Int, thresholdBin: Int, defaultLeft: Bool, nanBin: Int
  ) {
    let begin = leafBegin[leaf]
    let n = leafCount[leaf]
    var nLeft = 0
    var nRight = 0
    let column = bins + feature * rows
    let idx = indices
    let tmp = scratch
    for i in begin..<(begin + n) {
      let r = idx[i]
      let b = Int(column[Int(r)])
      let goLeft = b == nanBin ? defaultLeft : b <= thresholdBin
      if goLeft {
        idx[begin &+ nLeft] = r
        nLeft &+= 1
      } else {
        tmp[nRight] = r
        nRight &+= 1
      }
    }
    for i in 0..<nRight { idx[begin &+ nLeft &+ i] = tmp[i] }
    leafCount[leaf] = nLeft
    leafBegin[right] = begin + nLeft
    leafCount[right] = nRight
  }

  /// Features whose histogram is needed in a leaf.
  private func activeFeatures(leaf: Int) -> [Int] {
    let features = binnings.count
    return (0..<features).filter { splittable[leaf * features + $0] }
  }

  private func buildHistogram(
    leaf: Int, gradients: UnsafeBufferPointer<Float>, hessians: UnsafeBufferPointer<Float>
  ) {
    let active = activeFeatures(leaf: leaf)
    if active.isEmpty { return }
    let begin = leafBegin[leaf]
    let n = leafCount[leaf]
    let stride = totalBins * 2
    for i in 0..<n {
      let r = Int(indices[begin &+ i])
      orderedGradients[i] = gradients[r]
      orderedHessians[i] = hessians[r]
    }
    let histBox = SharedPointer(base: histograms + leaf * stride)
    let binBox = SharedPointer(base: bins)
    let idxBox = SharedPointer(base: indices + begin)
    let gBox = SharedPointer(base: orderedGradients)
    let hBox = SharedPointer(base: orderedHessians)
    let rows = self.rows
    let offsets = self.binOffset
    let binCounts = self.binCounts
    let work: @Sendable (Int) -> Void = { k in
      let f = active[k]
      let h = histBox.base + 2 * offsets[f]
      h.update(repeating: 0, count: 2 * binCounts[f])
      let column = binBox.base + f * rows
      let ix = idxBox.base
      let g = gBox.base
      let hs = hBox.base
      for i in 0..<n {
        let b = Int(column[Int(ix[i])]) &* 2
        h[b] += Double(g[i])
        h[b &+ 1] += Double(hs[i])
      }
    }
    let workers = threads > 1 && n * active.count >= 16_384 ? threads : 1
    Parallel.forEach(active.count, workers: Parallel.workerCount(active.count, threads: workers)) {
      _, k in work(k)
    }
  }

  /// `Dataset::FixHistogram`: the most frequent bin (when not bin 0) holds the leaf's sums
  /// minus every other bin, subtracted in bin order.
  private func fixHistogram(leaf: Int, sumG: Double, sumH: Double) {
    let stride = totalBins * 2
    for f in activeFeatures(leaf: leaf) where mostFrequentBins[f] > 0 {
      let h = histograms + leaf * stride + 2 * binOffset[f]
      let most = mostFrequentBins[f]
      var g = sumG
      var s = sumH
      for i in 0..<binCounts[f] where i != most {
        g -= h[2 * i]
        s -= h[2 * i + 1]
      }
      h[2 * most] = g
      h[2 * most + 1] = s
    }
  }

  private func copyHistogram(from source: Int, to target: Int) {
    let stride = totalBins * 2
    for f in activeFeatures(leaf: source) {
      let s = histograms + source * stride + 2 * binOffset[f]
      let t = histograms + target * stride + 2 * binOffset[f]
      t.update(from: s, count: 2 * binCounts[f])
    }
  }

  private func subtractHistogram(from target: Int, minus source: Int) {
    let stride = totalBins * 2
    for f in activeFeatures(leaf: source) {
      let s = histograms + source * stride + 2 * binOffset[f]
      let t = histograms + target * stride + 2 * binOffset[f]
      for i in 0..<(2 * binCounts[f]) { t[i] -= s[i] }
    }
  }

  private func findBestSplit(leaf: Int, sumG: Double, sumH: Double) -> SplitCandidate {
    let features = binnings.count
    let stride = totalBins * 2
    let count = leafCount[leaf]
    var best = SplitCandidate()
    splittable.withUnsafeMutableBufferPointer { flags in
      for f in 0..<features where flags[leaf &* features &+ f] {
        let (candidate, ok) = search.best(
          histogram: histograms + leaf * stride + 2 * binOffset[f],
          binCount: binCounts[f], missingType: missingTypes[f],
          mostFrequentBin: mostFrequentBins[f],
          sumGradient: sumG, sumHessian: sumH, count: count, feature: f)
        flags[leaf &* features &+ f] = ok
        if candidate.isBetter(than: best) { best = candidate }
      }
    }
    return best
  }
}
