import BulwarkCore
import Foundation

/// The boosting loop of LightGBM's `GBDT::TrainOneIter` for the softmax objective:
/// boost-from-average initial scores, Float32 gradients, one tree per class per iteration,
/// shrinkage, iteration-0 bias folding, the all-constant stopping rule and early stopping.
struct BoostingTrainer {
  let features: [Double]
  let rows: Int
  let columns: Int
  let labels: [Int]
  let classes: Int
  let parameters: BoostingParameters
  let binnings: [FeatureBinning]
  let learner: TreeLearner

  init(
    features: [Double], rows: Int, columns: Int, labels: [Int], classes: Int,
    parameters: BoostingParameters
  ) {
    self.features = features
    self.rows = rows
    self.columns = columns
    self.labels = labels
    self.classes = classes
    self.parameters = parameters
    var binnings: [FeatureBinning] = []
    var bins = [UInt16](repeating: 0, count: rows * columns)
    var column = [Double](repeating: 0, count: rows)
    for f in 0..<columns {
      for r in 0..<rows { column[r] = features[r * columns + f] }
      let binning = FeatureBinning(
        column: column, maxBin: parameters.maxBin, minDataInLeaf: parameters.minDataInLeaf)
      for r in 0..<rows { bins[f * rows + r] = UInt16(binning.bin(of: column[r])) }
      binnings.append(binning)
    }
    self.binnings = binnings
    let threads =
      parameters.threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : parameters.threads
    learner = TreeLearner(
      rows: rows, binnings: binnings, bins: bins, parameters: parameters, threads: threads)
  }

  /// Runs every iteration and assembles the model.
  mutating func run(
    validation: (features: [Double], labels: [Int])?, validRows: Int,
    progress: ((Int, Double?) -> Void)?
  ) -> BoostedTrees {
    let k = classes
    let n = rows
    let eps = LightGBMConstants.epsilon
    var classCount = [Double](repeating: 0, count: k)
    for y in labels { classCount[y] += 1 }
    var initScore = [Double](repeating: 0, count: k)
    var needTrain = [Bool](repeating: true, count: k)
    for c in 0..<k {
      let p = classCount[c] / Double(n)
      needTrain[c] = !(p <= eps || p >= 1 - eps)
      let s = log(max(eps, p))
      initScore[c] = abs(s) > eps ? s : 0
    }
    var score = [Double](repeating: 0, count: k * n)
    for c in 0..<k { for i in 0..<n { score[c * n + i] = initScore[c] } }
    var validScore = [Double](repeating: 0, count: k * validRows)
    for r in 0..<validRows { for c in 0..<k { validScore[r * k + c] = initScore[c] } }
    var gradients = [Float](repeating: 0, count: k * n)
    var hessians = [Float](repeating: 0, count: k * n)
    var generator = SeededGenerator(seed: parameters.seed)
    let usedFeatures = (0..<columns).filter { binnings[$0].isUsed }
    var bag: [Int32]? = nil
    var inBag = [Bool](repeating: true, count: n)
    var trees: [Tree] = []
    var bestLoss = Double.infinity
    var bestIteration = 0
    let factor = Double(k) / (Double(k) - 1.0)
    var rec = [Double](repeating: 0, count: k)

    for iteration in 0..<parameters.rounds {
      if parameters.baggingFrequency > 0 && parameters.baggingFraction < 1
        && iteration % parameters.baggingFrequency == 0
      {
        var rowsInBag: [Int32] = []
        for i in 0..<n {
          inBag[i] = generator.unitDouble() < parameters.baggingFraction
          if inBag[i] { rowsInBag.append(Int32(i)) }
        }
        bag = rowsInBag
      }
      for i in 0..<n {
        for c in 0..<k { rec[c] = score[c * n + i] }
        BoostedTrees.softmax(&rec, offset: 0, count: k)
        for c in 0..<k {
          let p = rec[c]
          gradients[c * n + i] = Float(labels[i] == c ? p - 1.0 : p)
          hessians[c * n + i] = Float(factor * p * (1.0 - p))
        }
      }
      var shouldContinue = false
      for c in 0..<k {
        var allowed = [Bool](repeating: true, count: columns)
        if parameters.featureFraction < 1 && !usedFeatures.isEmpty {
          let share = Double(usedFeatures.count) * parameters.featureFraction
          let keep = max(1, Int(share.rounded()))
          var pool = usedFeatures
          generator.shuffle(&pool)
          allowed = [Bool](repeating: false, count: columns)
          for f in pool.prefix(keep) { allowed[f] = true }
        }
        var grown: Tree? = nil
        if needTrain[c] && !usedFeatures.isEmpty {
          grown = gradients.withUnsafeBufferPointer { g in
            hessians.withUnsafeBufferPointer { h in
              learner.grow(
                gradients: UnsafeBufferPointer(rebasing: g[(c * n)..<((c + 1) * n)]),
                hessians: UnsafeBufferPointer(rebasing: h[(c * n)..<((c + 1) * n)]), bag: bag,
                featureAllowed: allowed)
            }
          }
        }
        guard var tree = grown else {
          trees.append(.constant(iteration == 0 ? initScore[c] : 0, count: n))
          continue
        }
        shouldContinue = true
        shrink(&tree)
        addToScores(tree, classIndex: c, score: &score, inBag: bag == nil ? nil : inBag)
        if let validation, validRows > 0 {
          validation.features.withUnsafeBufferPointer { x in
            validScore.withUnsafeMutableBufferPointer { out in
              tree.addOutputs(features: x, columns: columns, to: out, stride: k, offset: c)
            }
          }
        }
        if iteration == 0 && abs(initScore[c]) > eps { addBias(&tree, initScore[c]) }
        trees.append(tree)
      }
      if !shouldContinue {
        if trees.count > k { trees.removeLast(k) }
        break
      }
      var loss: Double? = nil
      if let validation {
        let l = BoostedTrees.multiLogLoss(validScore, labels: validation.labels, classes: k)
        loss = l
        if l < bestLoss {
          bestLoss = l
          bestIteration = iteration
        }
      }
      progress?(iteration + 1, loss)
      if validation != nil && parameters.earlyStoppingRounds > 0
        && iteration - bestIteration >= parameters.earlyStoppingRounds
      {
        break
      }
    }
    var best: Int? = nil
    if validation != nil {
      best = bestIteration + 1
      if parameters.earlyStoppingRounds > 0 && trees.count > (bestIteration + 1) * k {
        trees.removeLast(trees.count - (bestIteration + 1) * k)
      }
    }
    let infos = binnings.map { b in
      b.isUsed ? "[\(NumberFormat.g17(b.minValue)):\(NumberFormat.g17(b.maxValue))]" : "none"
    }
    return BoostedTrees(
      classes: k, featureCount: columns,
      featureNames: (0..<columns).map { "Column_\($0)" }, featureInfos: infos, trees: trees,
      parameterLines: ParameterBlock.lines(parameters, classes: k), bestIteration: best)
  }

  /// `Tree::Shrinkage`: outputs times the learning rate, tiny values rounded to zero.
  private func shrink(_ tree: inout Tree) {
    let rate = parameters.learningRate
    for i in tree.leafValue.indices { tree.leafValue[i] = roundToZero(tree.leafValue[i] * rate) }
    for i in tree.internalValue.indices {
      tree.internalValue[i] = roundToZero(tree.internalValue[i] * rate)
    }
    tree.shrinkage *= rate
  }

  /// `Tree::AddBias`: folds the initial score into the first iteration's tree.
  private func addBias(_ tree: inout Tree, _ value: Double) {
    for i in tree.leafValue.indices { tree.leafValue[i] = roundToZero(tree.leafValue[i] + value) }
    for i in tree.internalValue.indices {
      tree.internalValue[i] = roundToZero(tree.internalValue[i] + value)
    }
    tree.shrinkage = 1
  }

  private func roundToZero(_ x: Double) -> Double {
    abs(x) > LightGBMConstants.zeroThreshold ? x : 0
  }

  /// Adds a new tree's outputs to the training scores: bagged rows by their leaf in the
  /// learner's partition, out-of-bag rows by walking the tree.
  private func addToScores(_ tree: Tree, classIndex c: Int, score: inout [Double], inBag: [Bool]?) {
    let offset = c * rows
    for leaf in 0..<tree.numLeaves {
      let value = tree.leafValue[leaf]
      let begin = learner.leafBegin[leaf]
      for i in begin..<(begin + learner.leafCount[leaf]) {
        score[offset + Int(learner.indices[i])] += value
      }
    }
    guard let inBag else { return }
    features.withUnsafeBufferPointer { x in
      for r in 0..<rows where !inBag[r] {
        score[offset + r] += tree.output(
          for: UnsafeBufferPointer(rebasing: x[(r * columns)..<((r + 1) * columns)]))
      }
    }
  }
}

extension BoostedTrees {
  /// LightGBM's multi_logloss: mean of -ln(max(p_y, 1e-15)) over rows, scores row-major.
  static func multiLogLoss(_ scores: [Double], labels: [Int], classes: Int) -> Double {
    var sum = 0.0
    var rec = [Double](repeating: 0, count: classes)
    for (r, y) in labels.enumerated() {
      for c in 0..<classes { rec[c] = scores[r * classes + c] }
      softmax(&rec, offset: 0, count: classes)
      let p = rec[y]
      sum += p > LightGBMConstants.epsilon ? -log(p) : -log(LightGBMConstants.epsilon)
    }
    return sum / Double(labels.count)
  }
}
