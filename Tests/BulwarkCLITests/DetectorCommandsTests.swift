import BulwarkTestSupport
import Foundation
import Testing

/// `bulwark fit` and `bulwark score` on a pipeline with a detector, end to end: the committed
/// LeNet-5 behind feature-squeezing detection, on a few Fashion-MNIST test images.
@Suite struct DetectorCommandsTests {
  let scratch: ScratchFolder

  init() throws {
    scratch = try ScratchFolder("bulwark-detector-cli")
  }

  func writePipeline() throws -> String {
    let file = scratch.path("d.json5")
    try """
    {
      classifier: { model: "\(TestFiles.demoModel.path)" },
      data: {
        clean: "fashion-mnist:test",
        adversarial: { attack: { method: "fgsm", eps: 0.1 } },
        limit: 40,
      },
      detectors: [
        { type: "squeezing-detector", bitDepth: 1, window: 2, fpr: 0.1,
          fit: { clean: "fashion-mnist:test", start: 5000, limit: 100 } },
      ],
    }
    """.write(toFile: file, atomically: true, encoding: .utf8)
    return file
  }

  @Test func fitsTheThresholdThenScoresWhatItFlags() throws {
    let file = try writePipeline()
    let unfitted = try BulwarkProcess.run(["score", file])
    #expect(unfitted.status == 1)
    #expect(unfitted.error.contains("detectors[0]: squeezing-detector is not fitted"))

    let fit = try BulwarkProcess.run(["fit", file, "--json"])
    #expect(fit.status == 0, "\(fit.error)")
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(fit.output.utf8)) as? [String: Any])
    #expect(report["path"] as? String == "detectors[0]")
    #expect(report["cleanImages"] as? Int == 100)
    // floor(0.1 * 100) = 10 images above the threshold, when no score ties it.
    #expect((report["trainingAccuracy"] as? Double).map { abs($0 - 0.9) < 1e-9 } == true)
    #expect(report["threshold"] is Double)
    #expect(FileManager.default.fileExists(atPath: scratch.path("d.squeezing-detector.json")))

    let score = try BulwarkProcess.run(["score", file])
    #expect(score.status == 0, "\(score.error)")
    let lines = score.output.split(separator: "\n", omittingEmptySubsequences: false)
      .map(String.init)
    #expect(lines.contains { $0.hasPrefix("Detector squeezing-detector (threshold ") })
    let falsePositives = try #require(lines.first { $0.hasPrefix("  clean, false positives") })
    let abstentions = try #require(lines.first { $0.hasPrefix("Abstentions: clean ") })
    // The clean images it flags are the clean abstentions.
    let flagged = try #require(
      falsePositives.split(separator: " ").compactMap { Int($0) }.first)
    #expect(abstentions.hasPrefix("Abstentions: clean \(flagged), adv "))
    #expect(lines.contains { $0.hasPrefix("  adv, detected") && $0.contains(" / 40 = ") })
    #expect(lines.contains { $0.hasPrefix("Wrong and let through: clean ") })
    #expect(lines.contains { $0.hasPrefix("  detector squeezing-detector") })

    let json = try BulwarkProcess.run(["score", file, "--json"])
    #expect(json.status == 0, "\(json.error)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
    let detectors = try #require(object["detectors"] as? [[String: Any]])
    let clean = try #require(detectors.first?["clean"] as? [String: Any])
    #expect(clean["total"] as? Int == 40 && clean["flagged"] as? Int == flagged)
    #expect((detectors.first?["adversarialSets"] as? [Any])?.count == 1)
  }
}
