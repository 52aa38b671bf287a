import BulwarkTestSupport
import Foundation
import Testing

/// `attack --against` and `score` with several adversarial sets, oblivious and adaptive, on the
/// tiny synthetic problem.
@Suite struct AdaptiveScoreCommandsTests {
  let scratch: ScratchFolder

  init() throws {
    scratch = try ScratchFolder("bulwark-adaptive")
    try TinyProblem.writeClassifier(in: scratch.url)
    try TinyProblem.writeImages("tiny.npz", count: 40, seed: 5, in: scratch.url)
  }

  func write(_ name: String, adversarial: String) throws -> String {
    let text = """
      {
        classifier: { model: "tiny.safetensors" },
        data: { clean: "tiny.npz", adversarial: \(adversarial) },
        preprocessors: [ { type: "spatial-smoothing", window: 2 } ],
      }
      """
    try text.write(toFile: scratch.path(name), atomically: true, encoding: .utf8)
    return scratch.path(name)
  }

  @Test func attacksTheWholePipelineAndCountsQueries() throws {
    let file = try write("p.json5", adversarial: "\"tiny.npz\"")
    let result = try BulwarkProcess.run([
      "attack", "--against", file, "--method", "square", "--eps", "0.15", "--queries", "30",
      "--out", scratch.path("adv.npz"), "--json",
    ])
    #expect(result.status == 0, "\(result.error)")
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    #expect((report["attacker"] as? String)?.hasPrefix("adaptive square (L-inf eps 0.15") == true)
    let queries = try #require(report["queries"] as? Int)
    #expect(queries > 0 && queries <= 30 * 40)
    #expect(FileManager.default.fileExists(atPath: scratch.path("adv.npz")))

    let usage = try BulwarkProcess.run([
      "attack", "--against", file, "--model", "tiny.safetensors", "--method", "pgd", "--eps",
      "0.1", "--out", scratch.path("x.npz"),
    ])
    #expect(usage.status == 2)
    let badSetting = try BulwarkProcess.run([
      "attack", "--against", file, "--method", "square", "--eps", "0.1", "--queries", "5",
      "--stop-at-misclassification", "--out", scratch.path("x.npz"),
    ])
    #expect(badSetting.status == 2)
    #expect(badSetting.error.contains("--stop-at-misclassification: applies to pgd and bim only"))
  }

  @Test func scoresEverySetAndTheWorstCaseWithIntervals() throws {
    let file = try write(
      "sets.json5",
      adversarial: """
        [
            { name: "fgsm", attack: { method: "fgsm", eps: 0.15 } },
            { name: "square", attack: { method: "square", eps: 0.15, queries: 40, against: "pipeline" } },
          ]
        """)
    let result = try BulwarkProcess.run(["score", file])
    #expect(result.status == 0, "\(result.error)")
    let lines = result.output.split(separator: "\n").map(String.init)
    #expect(lines.first?.hasPrefix("Clean: ") == true)
    #expect(lines.contains { $0.hasPrefix("Adv fgsm: ") && $0.hasSuffix(" / 40") })
    #expect(lines.contains { $0.hasPrefix("Adv square: ") && $0.hasSuffix(" / 40") })
    let worst = try #require(lines.first { $0.hasPrefix("Worst case: ") })
    #expect(
      lines.contains { $0.hasPrefix("Harmonic mean: ") && $0.hasSuffix("(clean and worst case)") })
    #expect(lines.contains { $0.hasPrefix("95% intervals: clean ") && $0.contains("worst case") })
    #expect(lines.contains("Attacker fgsm: oblivious fgsm (L-inf eps 0.15)"))
    #expect(
      lines.contains {
        $0.hasPrefix("Attacker square: adaptive square (L-inf eps 0.15, 40 queries")
      })

    let json = try BulwarkProcess.run(["score", file, "--json"])
    #expect(json.status == 0, "\(json.error)")
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
    let sets = try #require(report["adversarialSets"] as? [[String: Any]])
    #expect(sets.map { $0["name"] as? String } == ["fgsm", "square"])
    let worstCase = try #require(report["worstCase"] as? [String: Any])
    let correct = try #require(worstCase["correct"] as? Int)
    // The worst case is no better than either set.
    for set in sets {
      let score = try #require(set["score"] as? [String: Any])
      #expect(correct <= (score["correct"] as? Int ?? -1))
    }
    #expect(worst == "Worst case: \(correct) / 40")
    #expect(report["harmonicMeanInterval"] != nil)
    // The adaptive set was cached under this configuration: a second run reuses it and gives
    // the same figures (only the timings differ).
    let cached = try FileManager.default.contentsOfDirectory(atPath: scratch.path(".bulwark-cache"))
    #expect(cached.filter { $0.hasSuffix(".npz") }.count == 2)
    let again = try BulwarkProcess.run(["score", file])
    func figures(_ output: String) -> [String] {
      Array(output.split(separator: "\n").map(String.init).prefix { $0 != "Time per image:" })
    }
    #expect(figures(again.output) == figures(result.output))
  }
}
