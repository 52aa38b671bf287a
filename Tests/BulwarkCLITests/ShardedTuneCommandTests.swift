import BulwarkTestSupport
import Foundation
import Testing

/// `bulwark tune --shard I/N` and `--merge` on the tiny pipeline of `TuneCommandTests`.
extension TuneCommandTests {
  /// A run folder's file without what varies from run to run: keys naming seconds (timings)
  /// and `classifierPasses` (the work a run did, which depends on how it was split), and the
  /// run folder's own path.
  func comparable(_ run: String, _ name: String) throws -> String {
    let text = try String(contentsOfFile: path("\(run)/\(name)"), encoding: .utf8)
      .replacingOccurrences(of: path(run), with: "RUN")
    guard name.hasSuffix(".json") else { return text }
    func strip(_ value: Any) -> Any {
      if let object = value as? [String: Any] {
        return object.filter {
          !$0.key.lowercased().contains("seconds") && $0.key != "classifierPasses"
        }.mapValues(strip)
      }
      if let array = value as? [Any] { return array.map(strip) }
      return value
    }
    let object = strip(try JSONSerialization.jsonObject(with: Data(text.utf8)))
    return String(
      decoding: try JSONSerialization.data(withJSONObject: object, options: .sortedKeys),
      as: UTF8.self)
  }

  /// results.csv without its time column (counted from the end: a configuration's key, before
  /// it, may hold quoted commas).
  func comparableTable(_ run: String) throws -> [String] {
    let lines = try comparable(run, "results.csv").split(separator: "\n")
    let header = lines[0].split(separator: ",", omittingEmptySubsequences: false)
    let fromEnd = header.count - (try #require(header.firstIndex(of: "seconds_per_image")))
    return lines.map { line in
      var cells = line.split(separator: ",", omittingEmptySubsequences: false)
      cells.remove(at: cells.count - fromEnd)
      return cells.joined(separator: ",")
    }
  }

  @Test(arguments: ["plain", "fitted", "worst-case"])
  func shardsMergeIntoTheFilesOfOneProcess(kind: String) throws {
    let file =
      try kind == "plain"
      ? writePipeline() : kind == "fitted" ? writeFittedPipeline() : writeWorstCasePipeline()
    let single = try BulwarkProcess.run(["tune", file, "--out", path("single"), "--refine"])
    #expect(single.status == 0, "\(single.error)")
    var shared = 0
    for index in 1...3 {
      let shard = try BulwarkProcess.run(
        ["tune", file, "--shard", "\(index)/3", "--out", path("sharded"), "--json"])
      #expect(shard.status == 0, "\(shard.error)")
      let summary = try #require(
        try JSONSerialization.jsonObject(with: Data(shard.output.utf8)) as? [String: Any])
      #expect(summary["shard"] as? String == "\(index)/3")
      #expect(summary["evaluated"] as? Int == summary["configurations"] as? Int)
      shared += summary["configurations"] as? Int ?? 0
      #expect(
        FileManager.default.fileExists(atPath: path("sharded/journal-\(index)-of-3.jsonl")))
    }
    let merged = try BulwarkProcess.run(
      ["tune", file, "--merge", "--out", path("sharded"), "--refine"])
    #expect(merged.status == 0, "\(merged.error)")
    // The merge scores only what comes after the grid: the refinement, re-ranking, full scores.
    let configurations = single.output.split(separator: "\n").first {
      $0.hasPrefix("Configurations: ")
    }
    let total = try #require(configurations?.split(separator: " ").dropFirst().first)
    #expect(merged.output.contains("Configurations: \(total) (\(Int(total)! - shared) scored now"))
    for name in ["results.json", "best.json5"] {
      #expect(try comparable("sharded", name) == comparable("single", name), "\(name)")
    }
    #expect(try comparableTable("sharded") == comparableTable("single"))
    func tail(_ output: String) -> [Substring] {
      output.split(separator: "\n").drop { !$0.hasPrefix("Winner: ") }.filter {
        !$0.hasPrefix("Best pipeline: ")
      }
    }
    #expect(tail(merged.output) == tail(single.output))
  }

  @Test func mergeNamesTheMissingShardsAndTheirConfigurations() throws {
    let file = try writePipeline()
    #expect(
      try BulwarkProcess.run(["tune", file, "--shard", "1/3", "--out", path("run")]).status == 0)
    let stopped = try BulwarkProcess.run(
      ["tune", file, "--shard", "2/3", "--out", path("run"), "--stop-after", "3"])
    #expect(stopped.status == 1)
    #expect(stopped.error.contains("continue with --resume"), "\(stopped.error)")

    let merge = try BulwarkProcess.run(["tune", file, "--merge", "--out", path("run")])
    #expect(merge.status == 1)
    let errors = merge.error.split(separator: "\n").map(String.init)
    #expect(errors.first == "error: cannot merge the 3 shards in \(path("run")):", "\(errors)")
    #expect(
      errors.contains { $0.hasPrefix("error: shard 2/3: 5 of 8 configurations unfinished: #") })
    #expect(errors.contains("error: shard 3/3: no journal-3-of-3.jsonl (the shard has not run)"))
    #expect(!errors.contains { $0.hasPrefix("error: shard 1/3") })
    #expect(!FileManager.default.fileExists(atPath: path("run/results.json")))

    // The killed shard, resumed, scores only what it had not.
    let resumed = try BulwarkProcess.run(
      ["tune", file, "--shard", "2/3", "--out", path("run"), "--resume"])
    #expect(resumed.status == 0, "\(resumed.error)")
    #expect(
      resumed.output.contains("Shard 2/3: 8 configurations (5 scored now, 3 from the journal)"))

    // A shard run with other settings is refused by name.
    #expect(
      try BulwarkProcess.run(
        ["tune", file, "--shard", "3/3", "--out", path("run"), "--seed", "5"]
      ).status == 0)
    let mixed = try BulwarkProcess.run(["tune", file, "--merge", "--out", path("run")])
    #expect(mixed.status == 1)
    #expect(
      mixed.error.contains(
        "journal-3-of-3.jsonl was written with other settings than this merge's: seed 5 (this "
          + "run: 0)"), "\(mixed.error)")
  }

  @Test func refusesShardOptionsThatDoNotGoTogether() throws {
    let file = try writePipeline()
    let cases: [([String], String)] = [
      (["--shard", "4/3"], "--shard: shard 4 of 3 does not exist: shards are 1...3"),
      (["--shard", "2"], "--shard: expected I/N (shard I of N, from 1) or auto, got '2'"),
      (["--shard", "1/3", "--merge"], "--shard runs one shard and --merge joins them"),
      (["--shard", "1/3", "--refine"], "--refine belongs to the merge"),
      (["--shards", "3"], "--shards goes with --shard auto"),
    ]
    for (arguments, message) in cases {
      let result = try BulwarkProcess.run(["tune", file, "--out", path("run")] + arguments)
      #expect(result.status == 2, "\(arguments)")
      #expect(result.error.contains(message), "\(result.error)")
    }
    let merge = try BulwarkProcess.run(["tune", file, "--merge", "--out", path("empty")])
    #expect(merge.status == 1)
    #expect(merge.error.contains("nothing to merge: \(path("empty")) holds no shard journals"))
  }
}
