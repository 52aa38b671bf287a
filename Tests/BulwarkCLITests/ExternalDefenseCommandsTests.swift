import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

/// Pipelines with `external` stages through the built `bulwark`: `cat` and `sh -c` stand in for
/// a user's program.
@Suite(.enabled(if: BuiltinDataset.fashionMNISTTest.isInstalled, "needs dataset-fashion-mnist"))
struct ExternalDefenseCommandsTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }

  init() throws {
    scratch = try ScratchFolder("bulwark-external-cli")
  }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  /// A pipeline on the committed LeNet-5 with a cheap attack (FGSM), written to the folder.
  func writePipeline(_ name: String, preprocessors: String) throws -> String {
    let text = """
      {
        classifier: { model: "\(PipelineCommandsTests.model.path)" },
        data: { clean: "fashion-mnist:test", adversarial: { attack: { method: "fgsm", eps: 0.1 } } },
        preprocessors: [\(preprocessors)],
      }
      """
    try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    return path(name)
  }

  /// The `score --json` figures of both sets (everything but the timings).
  func sets(_ result: BulwarkProcess.Result) throws -> [NSDictionary] {
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    return try ["clean", "adversarial"].map { try #require(object[$0] as? NSDictionary) }
  }

  @Test func anEchoingProgramGivesTheUndefendedScores() throws {
    let plain = try writePipeline("plain.json5", preprocessors: "")
    let echo = try writePipeline(
      "echo.json5", preprocessors: "{ type: 'external', command: ['cat'] }")
    let undefended = try BulwarkProcess.run(["score", plain, "--limit", "30", "--json"])
    #expect(undefended.status == 0, "\(undefended.error)")
    let echoed = try BulwarkProcess.run(
      ["score", echo, "--limit", "30", "--json", "--allow-external"])
    #expect(echoed.status == 0, "\(echoed.error)")
    let sets = try sets(echoed)
    #expect(sets == (try self.sets(undefended)))
    #expect(sets.first?["total"] as? Int == 30)
    #expect(sets.first?["correct"] as? Int == sets.first?["undefendedCorrect"] as? Int)
    let text = try BulwarkProcess.run(["score", echo, "--limit", "30", "--allow-external"])
    #expect(text.output.contains("  preprocessor external "), "\(text.output)")
  }

  @Test(arguments: [
    (
      ["sh", "-c", "echo broken >&2; exit 1"], 30.0,
      "exited with status 1 before answering; it said: broken"
    ),
    (["sleep", "30"], 0.5, "gave no answer within 0.5 s"),
    // wrong.npy is found in the pipeline file's folder, where the program runs.
    (
      ["sh", "-c", "cat wrong.npy; exec cat > /dev/null"], 30.0,
      "answered with shape [1, 1] for a batch of shape [20, 28, 28, 1]"
    ),
  ])
  func aFailingProgramFailsTheRunNamingTheStage(
    command: [String], timeout: Double, message: String
  ) throws {
    try NPYFile.write(
      NDArray(shape: [1, 1], storage: .float32([0.5])),
      to: folder.appendingPathComponent("wrong.npy"))
    let list = command.map { "'\($0)'" }.joined(separator: ", ")
    let file = try writePipeline(
      "failing.json5",
      preprocessors: "{ type: 'external', command: [\(list)], timeout: \(timeout) }")
    let result = try BulwarkProcess.run(["score", file, "--limit", "20", "--allow-external"])
    #expect(result.status == 1)
    #expect(
      result.error.contains("external stage '\(command.joined(separator: " "))': \(message)"),
      "\(result.error)")
  }

  @Test func withoutTheFlagTheRunIsRefusedBeforeAnyWork() throws {
    let file = try writePipeline(
      "p.json5",
      preprocessors: """
        { type: 'spatial-smoothing' }, { type: 'external', command: ['sh', '-c', 'exec cat'] },
        { type: 'external', command: ['cat'] }
        """)
    let result = try BulwarkProcess.run(["score", file, "--limit", "20"])
    #expect(result.status == 1)
    #expect(
      result.error == "error: \(file): preprocessors[1] (sh -c exec cat), preprocessors[2] (cat) "
        + "run external programs; pass --allow-external to allow it\n")
    #expect(result.output.isEmpty)
    // No attack ran: nothing was cached.
    #expect(!FileManager.default.fileExists(atPath: path(".bulwark-cache")))

    let validate = try BulwarkProcess.run(["validate", file])
    #expect(validate.status == 0, "\(validate.error)")
    #expect(
      validate.output == "\(file): ok; runs external programs: preprocessors[1] (sh -c exec cat), "
        + "preprocessors[2] (cat) (score and tune need --allow-external)\n")
  }

  @Test func preprocessRunsAnExternalStageOnlyWhenAllowed() throws {
    let array = NDArray(shape: [2, 2, 2, 1], storage: .float32([0, 0.25, 0.5, 0.75, 1, 0, 1, 0]))
    try NPYFile.write(array, to: folder.appendingPathComponent("x.npy"))
    let arguments = [
      "preprocess", "--stage", "{ type: 'external', command: ['cat'] }", "--input", path("x.npy"),
      "--output", path("y.npy"),
    ]
    let refused = try BulwarkProcess.run(arguments)
    #expect(refused.status == 1)
    #expect(
      refused.error == "error: --stage: stage (cat) runs an external program; "
        + "pass --allow-external to allow it\n")
    let allowed = try BulwarkProcess.run(arguments + ["--allow-external"])
    #expect(allowed.status == 0, "\(allowed.error)")
    #expect(try NPYFile.read(from: URL(fileURLWithPath: path("y.npy"))) == array)
  }
}
