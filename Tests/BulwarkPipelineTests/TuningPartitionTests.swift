import BulwarkCore
import Foundation
import Testing

@testable import BulwarkPipeline

@Suite struct TuningPartitionTests {
  func space(_ tune: String) throws -> SearchSpace {
    try SearchSpace(
      json5: "{ tune: { \(tune) } }", file: "t.json5", folder: URL(fileURLWithPath: "/tmp"))
  }

  @Test func keepsEachPreprocessingInOneShardAndBalancesTheRest() throws {
    // 6 windows x 4 postprocessings: six groups of 4 sharing a classifier pass, each costing
    // 1 + window² / 50 (the classifier and the smoothing) + 4 x 0.05: 1.28, 1.38, 1.52, 1.70,
    // 1.92 and 2.18 for windows 2 to 7. The share of 4 shards is 2.495, so none is split; the
    // longest-processing-time rule deals windows 7, 6, 5, 4 to shards 1 to 4, then window 3 to
    // shard 4 (the lightest, 1.52) and window 2 to shard 3 (1.70).
    let grid = try space(
      """
      preprocessors: [{ type: "spatial-smoothing", window: { from: 2, to: 7, step: 1 } }],
      postprocessors: [{ oneOf: [null, { type: "high-confidence", cutoff: [0.1, 0.2, 0.3] }] }],
      """
    ).candidates
    let partition = TuningPartition(grid: grid, shards: 4)
    #expect(
      partition.shares == [
        Array(20..<24), Array(16..<20), Array(0..<4) + Array(12..<16), Array(4..<12),
      ])
    for share in partition.shares {
      #expect(Set(share.map { grid[$0].preprocessingKey }).count == share.count / 4)
    }
    let expected = [2.18, 1.92, 2.98, 2.90].map { $0 / 9.98 }
    #expect(zip(partition.costShares, expected).allSatisfy { abs($0 - $1) < 1e-12 })
  }

  @Test func weighsPreprocessingsByTheirCost() throws {
    // Total-variation minimisation with 100 iterations costs 1 + 15.5 passes; the three
    // smoothings 1.08, 1.18 and 1.32, and each configuration 0.05 more: the dear group takes a
    // shard of its own.
    let grid = try space(
      """
      preprocessors: [{ oneOf: [
        { type: "total-variation-minimization", maxIterations: 100 },
        { type: "spatial-smoothing", window: [2, 3, 4] },
      ] }],
      """
    ).candidates
    let partition = TuningPartition(grid: grid, shards: 2)
    #expect(partition.shares == [[0], [1, 2, 3]])
    #expect(abs(partition.costShares[0] - 16.55 / (16.55 + 3.73)) < 1e-12)
  }

  @Test func splitsAGroupDearerThanAShare() throws {
    // One preprocessing (none) with 8 postprocessings: cost 1 + 8 x 0.05 = 1.4 against a share
    // of 0.35, so four pieces of two, each paying its own classifier pass.
    let grid = try space(
      "postprocessors: [{ type: 'high-confidence', cutoff: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] }],"
    ).candidates
    #expect(TuningPartition(grid: grid, shards: 4).shares == [[0, 1], [2, 3], [4, 5], [6, 7]])
    // More shards than configurations: the extra shards have nothing to do.
    let many = TuningPartition(grid: grid, shards: 10)
    #expect(many.shares.map(\.count) == [1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
  }

  @Test func coversTheGridOnceForAnyShardCount() throws {
    let grid = try space(
      """
      preprocessors: [{ oneOf: [null, { type: "spatial-smoothing", window: [2, 3, 4] },
        { type: "feature-squeezing", bitDepth: [1, 2, 4, 8], clipValues: [[0, 1]] }] }],
      postprocessors: [{ oneOf: [null, { type: "rounded", decimals: [1, 2, 3] }] }],
      """
    ).candidates
    for count in 1...12 {
      let shares = TuningPartition(grid: grid, shards: count).shares
      #expect(shares.count == count)
      #expect(shares.flatMap { $0 }.sorted() == Array(grid.indices))
      #expect(shares.allSatisfy { $0 == $0.sorted() })
    }
    let shard = try Shard(2, of: 3)
    #expect(
      TuningPartition(grid: grid, shards: 3).positions(of: shard)
        == TuningPartition(grid: grid, shards: 3).shares[1])
  }
}
