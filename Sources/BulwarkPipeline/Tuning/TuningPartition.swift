import BulwarkCore
import BulwarkDefenses

/// How a grid is shared among the shards of a tune (`bulwark tune --shard I/N`): a fixed
/// partition that every shard computes alike from the grid, balancing an estimate of cost.
///
/// Configurations that share a preprocessing share its classifier passes (see
/// `Tuner.evaluate`), so they stay in one shard: each such group costs one pass over the sample
/// per classifier pass it needs, times one plus its preprocessors (a preprocessor costs about
/// what the classifier does, from none for feature squeezing to several times it for
/// total-variation minimisation), plus one pass for each configuration with a fitted
/// postprocessor (fitting trees on the fit part costs about a pass) and a twentieth of one for
/// the others (a postprocessor on stored probabilities). A group costing more than a shard's
/// even share is split into that many pieces of configurations in grid order, each piece paying
/// the passes again; the pieces then go, dearest first (ties by grid order), to the shard with
/// the least cost so far (ties to the lowest), the longest-processing-time rule, which keeps
/// the dearest shard within 4/3 of the best possible.
struct TuningPartition: Sendable {
  /// Each shard's grid positions, in grid order.
  let shares: [[Int]]
  /// Each shard's share of the estimated cost, from 0 to 1.
  let costShares: [Double]

  /// The partition of a grid into `count` shards.
  /// - Parameters:
  ///   - grid: The search space's configurations, in grid order.
  ///   - count: The shards.
  init(grid: [TuningCandidate], shards count: Int) {
    var groups: [[Int]] = []
    var groupOf: [String: Int] = [:]
    for (position, candidate) in grid.enumerated() {
      let key = candidate.preprocessingKey
      if let group = groupOf[key] {
        groups[group].append(position)
      } else {
        groupOf[key] = groups.count
        groups.append([position])
      }
    }
    func passCost(_ members: [Int]) -> Double {
      let passes = members.map {
        Tuner.passes(of: grid[$0].postprocessors.compactMap(\.postprocessor))
      }
      let stages = grid[members[0]].preprocessors.compactMap(\.preprocessor)
      return Double(passes.max() ?? 1) * stages.reduce(1) { $0 + $1.relativeCost }
    }
    func memberCost(_ position: Int) -> Double {
      grid[position].postprocessors.contains { $0.postprocessor is any FittedPostprocessor }
        ? 1 : 0.05
    }
    func cost(_ members: [Int]) -> Double {
      passCost(members) + members.reduce(0) { $0 + memberCost($1) }
    }
    let share = groups.reduce(0) { $0 + cost($1) } / Double(count)
    var pieces: [(members: [Int], cost: Double)] = []
    for members in groups {
      let whole = cost(members)
      let parts = whole > share ? min(members.count, Int((whole / share).rounded(.up))) : 1
      for part in 0..<parts {
        let start = members.count * part / parts
        let end = members.count * (part + 1) / parts
        let piece = Array(members[start..<end])
        pieces.append((piece, cost(piece)))
      }
    }
    pieces.sort { a, b in a.cost != b.cost ? a.cost > b.cost : a.members[0] < b.members[0] }
    var loads = [Double](repeating: 0, count: count)
    var shares = [[Int]](repeating: [], count: count)
    for piece in pieces {
      let lightest = loads.indices.min { loads[$0] < loads[$1] } ?? 0
      loads[lightest] += piece.cost
      shares[lightest] += piece.members
    }
    self.shares = shares.map { $0.sorted() }
    let total = loads.reduce(0, +)
    costShares = loads.map { total > 0 ? $0 / total : 0 }
  }

  /// A shard's grid positions, in grid order.
  /// - Parameter shard: The shard (its count must be the partition's).
  /// - Returns: The positions.
  func positions(of shard: Shard) -> [Int] { shares[shard.index - 1] }
}
