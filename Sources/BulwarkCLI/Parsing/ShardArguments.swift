import BulwarkCore
import Foundation

/// The `[--shard I/N|auto [--shards N]] [--merge]` that the commands whose work splits over a
/// cluster take (`tune`, `score`, `attack`): one shard of the work, or the merge of the shards'.
struct ShardArguments {
  /// `--shard`, `--shards` and `--merge`.
  static let definitions = [
    shardOption.definition, shardsOption.definition, mergeFlag.definition,
  ]

  /// `--shard I/N|auto`: one shard of the work.
  static let shardOption = Option<String>(
    "shard", valueName: "I/N",
    help: "Do shard I of N of the work only (auto: from Slurm or Kubernetes).")
  /// `--shards N`: the shard count where the scheduler gives only the index.
  static let shardsOption = Option(
    "shards", valueName: "N",
    help: "The job's shard count (needed by --shard auto on Kubernetes; else checked).",
    in: 1...Shard.maximumCount)
  /// `--merge`: join the shards' work.
  static let mergeFlag = Flag("merge", help: "Join the shards' work, once every shard has run.")

  /// The shard to run, if any: from `I/N`, or from the scheduler's environment for `auto`.
  var shard: Shard?
  /// Whether to merge the shards' work.
  var merge: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    merge = arguments[Self.mergeFlag]
    let shards = try arguments.value(Self.shardsOption)
    if let text = try arguments.value(Self.shardOption) {
      do {
        shard = try Shard(
          parsing: text, shards: shards, environment: ProcessInfo.processInfo.environment)
      } catch {
        throw UsageError("--shard: \(error)", commandPath: arguments.commandPath)
      }
    } else if shards != nil {
      throw UsageError("--shards goes with --shard auto", commandPath: arguments.commandPath)
    }
    if shard != nil, merge {
      throw UsageError(
        "--shard runs one shard and --merge joins them; give one",
        commandPath: arguments.commandPath)
    }
  }
}
