import BulwarkCore
import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@Suite struct FitCommandTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }
  static let model = TestFiles.demoModel

  init() throws {
    scratch = try ScratchFolder("bulwark-fit-cli")
    // Seeded noise images: the mechanics need no real data, and small files load fast.
    var generator = SeededGenerator(seed: 5)
    for (name, count) in [("fit.npz", 40), ("eval.npz", 20)] {
      let shape = ImageShape(height: 28, width: 28, channels: 1)
      let pixels = (0..<count * shape.valueCount).map { _ in generator.unitFloat() }
      let batch = ImageBatch(
        shape: shape, pixels: pixels, labels: (0..<count).map { $0 % 10 },
        classNames: (0..<10).map { "\($0)" })
      try batch.npzArchive.write(to: scratch.url.appendingPathComponent(name))
    }
  }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  /// LeNet-5 and small trees fitted on fit.npz and FGSM on it; evaluated on `clean` and FGSM
  /// on it.
  func writePipeline(_ name: String, clean: String) throws -> String {
    let text = """
      {
        classifier: { model: "\(Self.model.path)" },
        data: {
          clean: "\(clean)",
          adversarial: { attack: { method: "fgsm", eps: 0.1 } },
        },
        postprocessors: [
          {
            type: "distribution-classifier", numLeaves: 4, rounds: 5, minDataInLeaf: 2,
            model: "p.txt",
            fit: {
              clean: "fit.npz",
              adversarial: { attack: { method: "fgsm", eps: 0.1 } },
              limit: 30,
            },
          },
        ],
      }
      """
    try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    return path(name)
  }

  @Test func fitsThenScoresAndRefusesTheFittedImages() throws {
    let file = try writePipeline("p.json5", clean: "eval.npz")

    let early = try BulwarkProcess.run(["score", file])
    #expect(early.status == 1)
    #expect(early.error.contains("postprocessors[0]: distribution-classifier is not fitted"))
    #expect(early.error.contains("run 'bulwark fit \(file)' first"))

    let validate = try BulwarkProcess.run(["validate", file])
    #expect(validate.status == 0, "\(validate.error)")

    let fit = try BulwarkProcess.run(["fit", file, "--json"])
    #expect(fit.status == 0, "\(fit.error)")
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(fit.output.utf8)) as? [String: Any])
    #expect(report["cleanImages"] as? Int == 30)
    #expect(report["adversarialImages"] as? Int == 30)
    #expect(report["passes"] as? Int == 1)
    #expect(FileManager.default.fileExists(atPath: path("p.txt")))
    let record = try #require(
      try JSONSerialization.jsonObject(
        with: Data(
          contentsOf: URL(
            fileURLWithPath: path(
              "p.txt.fit.json")))) as? [String: Any])
    #expect(record["cleanSource"] as? String == path("fit.npz"))
    #expect((record["cleanFingerprints"] as? String)?.count == 320)  // base64 of 30 x 8 bytes

    let score = try BulwarkProcess.run(["score", file])
    #expect(score.status == 0, "\(score.error)")
    #expect(score.output.contains("Clean: ") && score.output.contains(" / 20\n"))
    #expect(score.output.contains("postprocessor distribution-classifier"))

    // The same model scored on the images it learnt from: fit.npz's first 30 of 40 were.
    let leaky = try writePipeline("leaky.json5", clean: "fit.npz")
    let refused = try BulwarkProcess.run(["score", leaky])
    #expect(refused.status == 1)
    #expect(
      refused.error.contains(
        "data.clean: 30 of 40 images were used to fit the distribution-classifier "
          + "(30 from fit.clean, 0 from fit.adversarial)"))
    #expect(refused.error.contains("data.adversarial: 30 of 40 images were used"))
  }
}
