import BulwarkTestSupport
import Foundation
import Testing

/// `bulwark attack` and `bulwark score` split by image range with `--shard I/N`, joined with
/// `--merge`, on the tiny problem with 2,500 images: three slices of 1,000.
@Suite struct ShardedCommandsTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }

  init() throws {
    scratch = try ScratchFolder("bulwark-shards")
    try TinyProblem.writeClassifier(in: scratch.url)
    try TinyProblem.writeImages("big.npz", count: 2_500, seed: 3, in: scratch.url)
  }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  /// The attack command line, PGD from a seeded random start.
  func attack(_ out: String, _ extra: [String] = []) -> [String] {
    [
      "attack", "--model", path("tiny.safetensors"), "--data", path("big.npz"), "--method",
      "pgd", "--eps", "0.15", "--steps", "2", "--seed", "4", "--out", path(out),
    ] + extra
  }

  @Test func attackShardsJoinIntoTheFileOfOneRun() throws {
    let single = try BulwarkProcess.run(attack("one.npz"))
    #expect(single.status == 0, "\(single.error)")
    for (index, range) in [(1, "0..<1000"), (2, "1000..<2000"), (3, "2000..<2500")] {
      let shard = try BulwarkProcess.run(attack("adv.npz", ["--shard", "\(index)/3"]))
      #expect(shard.status == 0, "\(shard.error)")
      #expect(shard.output.contains("Shard:                        \(index)/3, images \(range)"))
      #expect(shard.output.contains("Wrote \(path("adv.part-\(index)-of-3.npz"))"))
      if index == 2 {
        // The merge names a shard that has not run.
        let early = try BulwarkProcess.run(attack("adv.npz", ["--merge"]))
        #expect(early.status == 1)
        #expect(early.error.contains("shard 3/3 has not made images 2000..<2500"), "\(early.error)")
      }
    }
    let merged = try BulwarkProcess.run(attack("adv.npz", ["--merge"]))
    #expect(merged.status == 0, "\(merged.error)")
    #expect(
      try Data(contentsOf: URL(fileURLWithPath: path("adv.npz")))
        == Data(contentsOf: URL(fileURLWithPath: path("one.npz"))))
    // The merge's figures are the whole set's, as one run prints them, without its time.
    func figures(_ output: String) -> [Substring] {
      output.split(separator: "\n").filter { !$0.hasPrefix("Time") && !$0.hasPrefix("Wrote") }
    }
    #expect(figures(merged.output) == figures(single.output))
  }

  @Test func scoreShardsMakeTheSetsAndTheMergeScoresThem() throws {
    let text = """
      {
        classifier: { model: "tiny.safetensors" },
        data: { clean: "big.npz", adversarial: { attack: { method: "pgd", eps: 0.15, steps: 2 } } },
        preprocessors: [ { type: "spatial-smoothing", window: 2 } ],
      }
      """
    try text.write(toFile: path("p.json5"), atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(
      atPath: path("single"), withIntermediateDirectories: true)
    try text.write(toFile: path("single/p.json5"), atomically: true, encoding: .utf8)
    for name in ["tiny.safetensors", "big.npz"] {
      try FileManager.default.copyItem(atPath: path(name), toPath: path("single/" + name))
    }
    let single = try BulwarkProcess.run(["score", path("single/p.json5")])
    #expect(single.status == 0, "\(single.error)")

    let first = try BulwarkProcess.run(["score", path("p.json5"), "--shard", "1/3"])
    #expect(first.status == 0, "\(first.error)")
    #expect(
      first.output.contains("Shard 1/3: adversarial: images 0..<1000, made now"), "\(first.output)")
    let early = try BulwarkProcess.run(["score", path("p.json5"), "--merge"])
    #expect(early.status == 1)
    #expect(
      early.error.contains(
        "shard 2/3 has not made images 1000..<2000, shard 3/3 has not made images 2000..<2500"),
      "\(early.error)")
    for index in 2...3 {
      let shard = try BulwarkProcess.run(["score", path("p.json5"), "--shard", "\(index)/3"])
      #expect(shard.status == 0, "\(shard.error)")
    }
    let merged = try BulwarkProcess.run(["score", path("p.json5"), "--merge"])
    #expect(merged.status == 0, "\(merged.error)")
    func figures(_ output: String) -> [Substring] {
      output.split(separator: "\n").prefix { !$0.hasPrefix("Time per image") }
    }
    #expect(figures(merged.output) == figures(single.output))
    #expect(figures(merged.output).first?.hasSuffix(" / 2500") == true)
    // Once joined, the set is cached: a shard started now has nothing to make.
    let late = try BulwarkProcess.run(["score", path("p.json5"), "--shard", "2/3"])
    #expect(
      late.output.contains("Shard 2/3: adversarial: images 1000..<2000, already made (cached)"))
  }
}
