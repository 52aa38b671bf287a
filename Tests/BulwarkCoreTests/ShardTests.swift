import BulwarkCore
import Testing

@Suite struct ShardTests {
  @Test func readsIOfN() throws {
    let shard = try Shard(parsing: "2/4", environment: [:])
    #expect(shard.index == 2 && shard.count == 4)
    #expect(shard.description == "2/4" && shard.fileTag == "2-of-4")
    #expect(shard.siblings.map(\.description) == ["1/4", "2/4", "3/4", "4/4"])
    for bad in ["0/4", "5/4", "2", "2/", "/4", "a/4", "2/4/1", "1/0", "1/100001"] {
      #expect(throws: ShardError.self, "\(bad)") { try Shard(parsing: bad, environment: [:]) }
    }
    #expect(throws: ShardError("2/4 is a shard of 4, but the job has 3 shards")) {
      try Shard(parsing: "2/4", shards: 3, environment: [:])
    }
  }

  @Test func readsASlurmArrayTask() throws {
    // --array=0-3: task 2 is the third shard of four.
    let zeroBased = [
      "SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3",
      "SLURM_ARRAY_TASK_COUNT": "4",
    ]
    #expect(try Shard(parsing: "auto", environment: zeroBased) == Shard(3, of: 4))
    // --array=1-7:2 (tasks 1, 3, 5, 7): task 5 is the third of four, the count from MAX.
    let stepped = [
      "SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "7",
      "SLURM_ARRAY_TASK_STEP": "2",
    ]
    #expect(try Shard(parsing: "auto", environment: stepped) == Shard(3, of: 4))
    #expect(throws: ShardError.self) {
      try Shard(parsing: "auto", environment: ["SLURM_ARRAY_TASK_ID": "1"])
    }
    #expect(throws: ShardError("SLURM_ARRAY_TASK_ID is 'x', expected an integer")) {
      try Shard(parsing: "auto", environment: ["SLURM_ARRAY_TASK_ID": "x"])
    }
  }

  @Test func readsAKubernetesCompletionIndex() throws {
    let environment = ["JOB_COMPLETION_INDEX": "0"]
    #expect(try Shard(parsing: "auto", shards: 3, environment: environment) == Shard(1, of: 3))
    #expect(throws: ShardError.self) { try Shard(parsing: "auto", environment: environment) }
    #expect(throws: ShardError.self) {
      try Shard(parsing: "auto", shards: 3, environment: ["JOB_COMPLETION_INDEX": "3"])
    }
    #expect(throws: ShardError.self) { try Shard(parsing: "auto", shards: 3, environment: [:]) }
  }

  @Test func sharesItemsInContiguousRangesThatDifferByAtMostOne() throws {
    #expect(try Shard(3, of: 4).siblings.map { $0.range(of: 10) } == [0..<3, 3..<6, 6..<8, 8..<10])
    #expect(try Shard(1, of: 3).siblings.map { $0.range(of: 2) } == [0..<1, 1..<2, 2..<2])
    for total in 0..<30 {
      for count in 1...7 {
        let ranges = try Shard(1, of: count).siblings.map { $0.range(of: total) }
        #expect(ranges.flatMap { Array($0) } == Array(0..<total))
        let sizes = ranges.map(\.count)
        #expect((sizes.max() ?? 0) - (sizes.min() ?? 0) <= 1)
      }
    }
  }
}
