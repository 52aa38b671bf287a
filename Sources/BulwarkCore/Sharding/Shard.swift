/// One of N parts of a job that runs on several machines at once: shard `index` of `count`,
/// numbered from 1 as in GNU `split -n K/N`. Every shard of a job computes the same partition
/// from the same inputs, so shards need no scheduler of their own and no talk between them:
/// a Slurm job array or a Kubernetes Indexed Job starts them, and a merge step joins their
/// output.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
  /// The shard's number, from 1 to `count`.
  public let index: Int
  /// How many shards the job has.
  public let count: Int

  /// The most shards a job may have.
  public static let maximumCount = 100_000

  /// The shard `index` of `count`.
  /// - Throws: `ShardError` unless 1 ≤ index ≤ count.
  public init(_ index: Int, of count: Int) throws(ShardError) {
    guard (1...Self.maximumCount).contains(count) else {
      throw ShardError("a job has 1 to \(Self.maximumCount) shards, got \(count)")
    }
    guard (1...count).contains(index) else {
      throw ShardError("shard \(index) of \(count) does not exist: shards are 1...\(count)")
    }
    self.init(checked: index, of: count)
  }

  /// A shard from its text: `I/N`, or `auto` for the shard the scheduler assigned this process.
  ///
  /// `auto` reads Slurm's job-array variables (shard `SLURM_ARRAY_TASK_ID − MIN` over the step,
  /// plus 1, of `SLURM_ARRAY_TASK_COUNT`), else Kubernetes' `JOB_COMPLETION_INDEX` (from 0, so
  /// shard index + 1) with the shard count given in `shards`.
  /// - Parameters:
  ///   - text: `I/N` or `auto`.
  ///   - shards: The shard count given apart (`--shards N`), required with Kubernetes; with a
  ///     Slurm array or `I/N` it must agree.
  ///   - environment: The process environment.
  /// - Throws: `ShardError` naming what is wrong or missing.
  public init(
    parsing text: String, shards: Int? = nil, environment: [String: String]
  ) throws(ShardError) {
    let parsed: Shard
    if text == "auto" {
      parsed = try Self.fromScheduler(shards: shards, environment: environment)
    } else {
      let parts = text.split(separator: "/", omittingEmptySubsequences: false)
      guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
        throw ShardError("expected I/N (shard I of N, from 1) or auto, got '\(text)'")
      }
      parsed = try Shard(index, of: count)
    }
    if let shards, shards != parsed.count {
      throw ShardError("\(parsed) is a shard of \(parsed.count), but the job has \(shards) shards")
    }
    self = parsed
  }

  /// The shard a scheduler assigned: a Slurm array task or a Kubernetes indexed completion.
  private static func fromScheduler(
    shards: Int?, environment: [String: String]
  ) throws(ShardError) -> Shard {
    func number(_ name: String) throws(ShardError) -> Int? {
      guard let text = environment[name] else { return nil }
      guard let value = Int(text) else {
        throw ShardError("\(name) is '\(text)', expected an integer")
      }
      return value
    }
    if let task = try number("SLURM_ARRAY_TASK_ID") {
      guard let minimum = try number("SLURM_ARRAY_TASK_MIN") else {
        throw ShardError("SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_MIN is not")
      }
      let step = try number("SLURM_ARRAY_TASK_STEP") ?? 1
      guard step >= 1, (task - minimum) % step == 0 else {
        throw ShardError(
          "SLURM_ARRAY_TASK_ID \(task) is not on the array's steps from \(minimum) by \(step)")
      }
      let count: Int
      if let given = try number("SLURM_ARRAY_TASK_COUNT") {
        count = given
      } else if let maximum = try number("SLURM_ARRAY_TASK_MAX") {
        count = (maximum - minimum) / step + 1
      } else {
        throw ShardError(
          "SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor "
            + "SLURM_ARRAY_TASK_MAX is")
      }
      return try Shard((task - minimum) / step + 1, of: count)
    }
    if let completion = try number("JOB_COMPLETION_INDEX") {
      guard let shards else {
        throw ShardError(
          "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but the shard count is not: "
            + "give --shards N, the Job's completions")
      }
      return try Shard(completion + 1, of: shards)
    }
    throw ShardError(
      "auto needs a scheduler's shard: neither SLURM_ARRAY_TASK_ID (a Slurm job array) nor "
        + "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set")
  }

  /// `I/N`.
  public var description: String { "\(index)/\(count)" }

  /// `I-of-N`, for file names (`journal-2-of-4.jsonl`).
  public var fileTag: String { "\(index)-of-\(count)" }

  /// Every shard of the job, in order.
  public var siblings: [Shard] {
    (1...count).map { Shard(checked: $0, of: count) }
  }

  /// A shard whose index the caller has checked.
  private init(checked index: Int, of count: Int) {
    self.index = index
    self.count = count
  }

  /// This shard's contiguous share of `total` items in order: the first `total % count` shards
  /// take one item more than the rest, so shares differ by at most one.
  /// - Parameter total: The items to share.
  /// - Returns: The positions this shard takes (empty when there are fewer items than shards).
  public func range(of total: Int) -> Range<Int> {
    let base = total / count
    let extra = total % count
    let start = (index - 1) * base + min(index - 1, extra)
    return start..<(start + base + (index <= extra ? 1 : 0))
  }
}
