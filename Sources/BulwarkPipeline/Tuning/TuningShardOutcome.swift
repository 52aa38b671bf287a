import BulwarkCore
import Foundation

/// What one shard of a sharded tune scored (see `Tuner.runShard`).
public struct TuningShardOutcome: Sendable {
  /// The shard.
  public var shard: Shard
  /// The configurations of the grid in the shard's share.
  public var configurations: Int
  /// The shard's share of the grid's estimated cost, from 0 to 1 (see `TuningPartition`).
  public var shareOfCost: Double
  /// The classifier work and the configurations scored in this run (the others came from the
  /// shard's journal).
  public var statistics: Tuner.Statistics
  /// The shard's journal.
  public var journal: URL
}
