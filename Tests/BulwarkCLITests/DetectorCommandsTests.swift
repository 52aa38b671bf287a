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

/// `bulwark tune` over a pipeline with a fitted MagNet detector: every configuration abstains
/// on what the detector flags, and `best.json5` keeps the detector with its fitted model and
/// its autoencoder (and the tuned autoencoder preprocessor's) at absolute paths, so that `score`
/// runs it from the run folder.
@Suite struct DetectorTuneCommandTests {
  let scratch: ScratchFolder

  init() throws {
    scratch = try ScratchFolder("bulwark-detector-tune")
    try FileManager.default.copyItem(
      at: TestFiles.repository.appendingPathComponent(
        "pipelines/models/autoencoder-fashion.safetensors"),
      to: scratch.url("ae.safetensors"))
  }

  @Test func tunesAroundTheDetectorAndKeepsItInTheBestPipeline() throws {
    let file = scratch.path("m.json5")
    try """
    {
      classifier: { model: "\(TestFiles.demoModel.path)" },
      data: {
        clean: "fashion-mnist:test",
        adversarial: { attack: { method: "fgsm", eps: 0.1 } },
        limit: 40,
      },
      detectors: [
        { type: "magnet", autoencoder: "ae.safetensors", fpr: 0.1,
          fit: { clean: "fashion-mnist:test", start: 5000, limit: 100 } },
      ],
      tune: {
        sample: 40,
        preprocessors: [{ type: "autoencoder", model: "ae.safetensors" }],
        postprocessors: [{ oneOf: [null, { type: "rounded", decimals: 2 }] }],
      },
    }
    """.write(toFile: file, atomically: true, encoding: .utf8)
    let unfitted = try BulwarkProcess.run(["tune", file, "--out", scratch.path("run")])
    #expect(unfitted.status == 1)
    #expect(unfitted.error.contains("detectors[0]: magnet is not fitted"), "\(unfitted.error)")
    #expect(try BulwarkProcess.run(["fit", file]).status == 0)

    let tuned = try BulwarkProcess.run(["tune", file, "--out", scratch.path("run")])
    #expect(tuned.status == 0, "\(tuned.error)")
    let score = try BulwarkProcess.run(["score", file])
    let flagged = try #require(
      score.output.split(separator: "\n").first { $0.hasPrefix("  clean, false positives") }?
        .split(separator: " ").compactMap { Int($0) }.first)
    // Every configuration abstains on the clean images MagNet flags, whatever its preprocessing.
    let data = try Data(contentsOf: scratch.url("run/results.json"))
    let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let results = try #require(object["results"] as? [[String: Any]])
    #expect(results.count == 2)
    for result in results {
      let clean = try #require(result["clean"] as? [String: Any])
      #expect(clean["abstentions"] as? Int ?? -1 >= flagged, "\(result["key"] ?? "")")
      let stages = try #require(result["stages"] as? [[String: Any]])
      #expect(stages.first?["kind"] as? String == "detector")
      #expect(stages.first?["name"] as? String == "magnet")
    }

    let best = try String(contentsOfFile: scratch.path("run/best.json5"), encoding: .utf8)
    // The detector's autoencoder and the preprocessor's model, made absolute.
    #expect(best.contains("autoencoder: \"\(scratch.path("ae.safetensors"))\""), "\(best)")
    #expect(best.contains("model: \"\(scratch.path("ae.safetensors"))\""), "\(best)")
    #expect(best.contains("model: \"\(scratch.path("m.magnet.json"))\""), "\(best)")
    #expect(!best.contains("fit:"))
    let rescored = try BulwarkProcess.run(["score", scratch.path("run/best.json5")])
    #expect(rescored.status == 0, "\(rescored.error)")
    #expect(rescored.output.contains("Detector magnet (threshold "))
    #expect(
      rescored.output.split(separator: "\n").contains {
        $0.hasPrefix("  clean, false positives") && $0.contains(" \(flagged) / 40 ")
      })
  }
}
