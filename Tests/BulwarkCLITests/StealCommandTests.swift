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

  /// `tune` with the stealing objective: every configuration stolen, the table's student
  /// columns, the winner's student on the full clean set in text and JSON; and a stealing
  /// section asking for more queries than its data has is refused before any work.
  @Test func tunesWithTheStealingObjective() throws {
    func write(queries: Int) throws -> String {
      let text = """
        {
          classifier: { model: "\(TestFiles.demoModel.path)" },
          data: {
            clean: "fashion-mnist:test", adversarial: { attack: { method: "fgsm", eps: 0.1 } },
            limit: 80,
          },
          tune: {
            objective: "stealing", minCleanAccuracy: 0.5, sample: 40,
            stealing: { queries: \(queries), data: "fashion-mnist:train", variant: "probabilities",
              epochs: 1 },
            postprocessors: [{ type: "reverse-sigmoid", beta: 1, gamma: [0.1, 1] }],
          },
        }
        """
      try text.write(toFile: path("tune.json5"), atomically: true, encoding: .utf8)
      return path("tune.json5")
    }
    let file = try write(queries: 64)
    let result = try BulwarkProcess.run(["tune", file, "--out", path("run")])
    #expect(result.status == 0, "\(result.error)")
    let lines = result.output.split(separator: "\n").map(String.init)
    #expect(lines.first?.contains("Clean   Student Agree") == true, "\(lines.first ?? "")")
    #expect(lines.contains("Stealing student: 64 of 64 queries answered"))
    #expect(lines.contains { $0.hasPrefix("Student accuracy: ") && $0.contains(" / 80 = ") })
    #expect(lines.contains { $0.hasPrefix("Agreement: ") })
    let best = try String(contentsOfFile: path("run/best.json5"), encoding: .utf8)
    #expect(best.contains("// A stealing student (64 of 64 queries answered): accuracy "))

    let json = try BulwarkProcess.run(["tune", file, "--out", path("run"), "--resume", "--json"])
    #expect(json.status == 0, "\(json.error)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
    #expect(object["objective"] as? String == "stealing(student-accuracy)")
    let stealing = try #require(object["stealing"] as? [String: Any])
    let student = try #require(stealing["studentAccuracy"] as? [String: Any])
    let correct = try #require(student["correct"] as? Int)
    #expect(student["total"] as? Int == 80)
    #expect(lines.contains { $0.hasPrefix("Student accuracy: \(correct) / 80 = ") })

    let tooMany = try BulwarkProcess.run(["tune", try write(queries: 70_000), "--out", path("x")])
    #expect(tooMany.status == 1)
    #expect(
      tooMany.error.contains(
        "tune.stealing.data: fashion-mnist:train has 60000 images; stealing.queries asks for "
          + "70000"), "\(tooMany.error)")
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
