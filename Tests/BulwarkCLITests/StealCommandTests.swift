import BulwarkTestSupport
import Foundation
import Testing

/// `bulwark steal` end to end on the committed LeNet-5 behind reverse sigmoid, on a few
/// Fashion-MNIST images.
@Suite struct StealCommandTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }

  init() throws {
    scratch = try ScratchFolder("bulwark-steal-cli")
  }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  func writePipeline() throws -> String {
    let text = """
      {
        classifier: { model: "\(TestFiles.demoModel.path)" },
        data: { clean: "fashion-mnist:test", adversarial: { attack: { method: "fgsm", eps: 0.1 } } },
        postprocessors: [{ type: "reverse-sigmoid", beta: 1, gamma: 0.1 }],
      }
      """
    try text.write(toFile: path("p.json5"), atomically: true, encoding: .utf8)
    return path("p.json5")
  }

  @Test func stealsPrintsAndWritesTheStudent() throws {
    let file = try writePipeline()
    let arguments = [
      "steal", file, "--queries", "96", "--arch", "lenet5", "--data", "fashion-mnist:train",
      "--epochs", "1", "--limit", "50", "--variant", "probabilities",
    ]
    let result = try BulwarkProcess.run(arguments + ["--out", path("student.safetensors")])
    #expect(result.status == 0, "\(result.error)")
    let lines = result.output.split(separator: "\n").map(String.init)
    #expect(lines.first == "Victim: \(file)")
    #expect(lines.contains("Queries: 96 from fashion-mnist:train, 96 answered"))
    #expect(lines.contains("Student: lenet5, 1 epochs on the victim's probabilities"))
    #expect(lines.contains("Test: 50 images of fashion-mnist:test"))
    #expect(lines.contains { $0.hasPrefix("Student accuracy: ") && $0.contains(" / 50 = 0.") })
    #expect(lines.contains { $0.hasPrefix("Agreement: ") })
    #expect(FileManager.default.fileExists(atPath: path("student.safetensors")))
    // The saved student is a classifier like any other.
    let evaluated = try BulwarkProcess.run([
      "evaluate", "--model", path("student.safetensors"), "--data", "fashion-mnist:test",
      "--limit", "50",
    ])
    #expect(evaluated.status == 0, "\(evaluated.error)")

    let json = try BulwarkProcess.run(arguments + ["--json"])
    #expect(json.status == 0, "\(json.error)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
    let report = try #require(object["result"] as? [String: Any])
    #expect(report["variant"] as? String == "probabilities")
    #expect(report["answered"] as? Int == 96)
    let student = try #require(report["studentAccuracy"] as? [String: Any])
    #expect(student["total"] as? Int == 50)
    // The same seed, the same student: the JSON gives the text's figures.
    let count = try #require(student["count"] as? Int)
    #expect(lines.contains { $0.hasPrefix("Student accuracy: \(count) / 50 = ") })
  }

  @Test func refusesBadArguments() throws {
    let file = try writePipeline()
    let missing = try BulwarkProcess.run([
      "steal", file, "--arch", "lenet5", "--data", "fashion-mnist:train",
    ])
    #expect(missing.status == 2)
    #expect(missing.error.contains("--queries"))
    let tooMany = try BulwarkProcess.run([
      "steal", file, "--queries", "20000", "--arch", "lenet5", "--data", "fashion-mnist:test",
    ])
    #expect(tooMany.status == 1)
    #expect(
      tooMany.error.contains(
        "--data fashion-mnist:test: expected at least --queries 20000 images, found 10000"))
    let wrongShape = try BulwarkProcess.run([
      "steal", file, "--queries", "10", "--arch", "rgb-cnn", "--data", "fashion-mnist:test",
    ])
    #expect(wrongShape.status == 1)
    let autoencoder = try BulwarkProcess.run([
      "steal", file, "--queries", "10", "--arch", "autoencoder", "--data", "fashion-mnist:test",
    ])
    #expect(autoencoder.status == 2)
    #expect(autoencoder.error.contains("--arch"))
    #expect(wrongShape.error.contains("student: expected the victim's 28x28x1 input"))
  }
}
