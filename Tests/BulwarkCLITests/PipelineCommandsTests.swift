import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@Suite struct PipelineCommandsTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }
  static let model = TestFiles.demoModel

  init() throws {
    scratch = try ScratchFolder("bulwark-pipeline-cli")
  }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  /// A pipeline on the committed LeNet-5 with a cheap attack (FGSM), written to the folder.
  func writePipeline(_ name: String = "p.json5", preprocessors: String) throws -> String {
    let text = """
      // A test pipeline.
      {
        classifier: { model: "\(Self.model.path)" },
        data: { clean: "fashion-mnist:test", adversarial: { attack: { method: "fgsm", eps: 0.1 } } },
        preprocessors: [\(preprocessors)],
        postprocessors: [{ type: "high-confidence", cutoff: 0.5 }],
      }
      """
    try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    return path(name)
  }

  @Test func scoresALimitedRunAndReusesTheAttackCache() throws {
    let file = try writePipeline(preprocessors: "{ type: \"spatial-smoothing\", window: 3 }")
    let first = try BulwarkProcess.run(["score", file, "--limit", "40"])
    #expect(first.status == 0, "\(first.error)")
    let lines = first.output.split(separator: "\n").map(String.init)
    #expect(lines.count > 3)
    #expect(lines.first?.hasPrefix("Clean: ") == true && lines.first?.hasSuffix(" / 40") == true)
    #expect(lines.dropFirst().first?.hasPrefix("Adv: ") == true)
    #expect(lines.dropFirst(2).first?.hasPrefix("Harmonic mean: 0.") == true)
    #expect(first.output.contains("preprocessor spatial-smoothing"))
    let cached = try FileManager.default.contentsOfDirectory(atPath: path(".bulwark-cache"))
    #expect(cached.count == 1 && cached.first?.hasPrefix("adversarial-") == true)

    let json = try BulwarkProcess.run(["score", file, "--limit", "40", "--json"])
    #expect(json.status == 0, "\(json.error)")
    let object = try #require(
      try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
    let clean = try #require(object["clean"] as? [String: Any])
    #expect(clean["total"] as? Int == 40)
    #expect(lines.first == "Clean: \(clean["correct"] as? Int ?? -1) / 40")
    #expect((clean["evaluation"] as? [String: Any])?["cav"] != nil)
    #expect((object["stages"] as? [Any])?.count == 3)
    #expect(try FileManager.default.contentsOfDirectory(atPath: path(".bulwark-cache")) == cached)
  }

  @Test func validatesFilesAndListsEveryError() throws {
    let good = try writePipeline(preprocessors: "{ type: \"jpeg-compression\", quality: 50 }")
    let bad = try writePipeline(
      "bad.json5",
      preprocessors: "{ type: \"jpeg-compression\", qualty: 50 }, { type: \"median\" }")
    let result = try BulwarkProcess.run(["validate", good, bad])
    #expect(result.status == 1)
    #expect(result.output == "\(good): ok\n")
    #expect(
      result.error.contains("\(bad): preprocessors[0].qualty: unknown key; did you mean quality?"))
    #expect(result.error.contains("\(bad): preprocessors[1].type: unknown preprocessor 'median'"))

    let json = try BulwarkProcess.run(["validate", good, bad, "--json"])
    #expect(json.status == 1)
    let reports = try #require(
      try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
    #expect(reports.map { $0["ok"] as? Bool } == [true, false])
    #expect((reports[1]["problems"] as? [String])?.count == 2)
  }

  @Test func validateListsTheErrorsOfEverySectionOnceInFileOrder() throws {
    let text = """
      {
        classifier: { },
        data: { clean: "fashion-mnist:test", adversarial: "missing.npz" },
        preprocessors: [{ type: "spatial-smoothing", window: 0 }],
        tune: {
          preprocessors: [{ oneOf: [{ type: "bogus" }, { type: "jpeg-compression", qualty: 5 }] }],
        },
      }
      """
    try text.write(toFile: path("bad.json5"), atomically: true, encoding: .utf8)
    let file = path("bad.json5")
    let result = try BulwarkProcess.run(["validate", file])
    #expect(result.status == 1)
    let lines = result.error.split(separator: "\n").map(String.init)
    let paths = [
      "classifier: missing required key 'model'", "data.adversarial: ", "preprocessors[0].window: ",
      "tune.preprocessors[0].oneOf[0].type: unknown preprocessor 'bogus'",
      "tune.preprocessors[0].oneOf[1].qualty: unknown key",
    ]
    #expect(lines.count == paths.count, "\(result.error)")
    for (line, path) in zip(lines, paths) {
      #expect(line.hasPrefix("error: \(file): \(path)"), "\(line)")
    }
    // The same file through `score`: every problem on its own `error:` line.
    let score = try BulwarkProcess.run(["score", file])
    #expect(score.status == 1)
    let scoreLines = score.error.split(separator: "\n")
    #expect(scoreLines.count == 3 && scoreLines.allSatisfy { $0.hasPrefix("error: \(file): ") })
  }

  @Test func validateNamesTheExternalProgramsOfTheSearchSpace() throws {
    let file = try writePipeline(preprocessors: "")
    var text = try String(contentsOfFile: file, encoding: .utf8)
    text = text.replacingOccurrences(
      of: "postprocessors:",
      with:
        "tune: { preprocessors: [{ oneOf: [{ type: \"external\", command: [[\"/bin/cat\"]] }] }] },\n"
        + "  postprocessors:")
    try text.write(toFile: file, atomically: true, encoding: .utf8)
    let result = try BulwarkProcess.run(["validate", file])
    #expect(result.status == 0, "\(result.error)")
    #expect(
      result.output.hasSuffix(
        "ok; runs external programs: tune.preprocessors[0].oneOf[0] (/bin/cat) (score and tune "
          + "need --allow-external)\n"), "\(result.output)")
  }

  @Test func arrayToolsReportAsJSONAndRefuseNaN() throws {
    try NPYFile.write(
      NDArray(shape: [2, 3], storage: .float32([0.2, 0.5, 0.3, 0.1, 0.1, 0.8])),
      to: URL(fileURLWithPath: path("p.npy")))
    let result = try BulwarkProcess.run([
      "postprocess", "--stage", "{ type: 'high-confidence', cutoff: 0.6 }", "--input",
      path("p.npy"), "--output", path("q.npy"), "--json",
    ])
    #expect(result.status == 0, "\(result.error)")
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    #expect(report["abstentions"] as? Int == 1)
    #expect(report["shape"] as? [Int] == [2, 3])
    try NPYFile.write(
      NDArray(shape: [1, 1, 2, 1], storage: .float32([0.5, .nan])),
      to: URL(fileURLWithPath: path("nan.npy")))
    let nan = try BulwarkProcess.run([
      "preprocess", "--stage", "{ type: 'spatial-smoothing' }", "--input", path("nan.npy"),
      "--output", path("out.npy"),
    ])
    #expect(nan.status == 1)
    #expect(nan.error.contains("expected finite values, found nan at flat index 1"))
  }

  @Test func appliesOnePreprocessorToAnArray() throws {
    let values: [Float] = [1, 2, 3, 4]
    try NPYFile.write(
      NDArray(shape: [1, 2, 2, 1], storage: .float32(values)),
      to: URL(fileURLWithPath: path("x.npy")))
    let result = try BulwarkProcess.run([
      "preprocess", "--stage", "{ type: 'spatial-smoothing', window: 2 }", "--input", path("x.npy"),
      "--output", path("y.npy"),
    ])
    #expect(result.status == 0, "\(result.error)")
    let output = try NPYFile.read(from: URL(fileURLWithPath: path("y.npy")))
    // The spec's known case: [[1, 2], [3, 4]] with k = 2 gives [[1, 2], [3, 3]].
    #expect(output == NDArray(shape: [1, 2, 2, 1], storage: .float32([1, 2, 3, 3])))
  }

  @Test func appliesOnePostprocessorToAnArray() throws {
    try NPYFile.write(
      NDArray(shape: [2, 3], storage: .float32([0.2, 0.5, 0.3, 0.1, 0.1, 0.8])),
      to: URL(fileURLWithPath: path("p.npy")))
    let result = try BulwarkProcess.run([
      "postprocess", "--stage", "{ type: 'class-labels' }", "--input", path("p.npy"),
      "--output", path("q.npy"),
    ])
    #expect(result.status == 0, "\(result.error)")
    let output = try NPYFile.read(from: URL(fileURLWithPath: path("q.npy")))
    #expect(output == NDArray(shape: [2, 3], storage: .float32([0, 1, 0, 0, 0, 1])))
    let bad = try BulwarkProcess.run([
      "postprocess", "--stage", "{ type: 'rounded', decimals: 0 }", "--input", path("p.npy"),
      "--output", path("q.npy"),
    ])
    #expect(bad.status == 1)
    #expect(bad.error.contains("--stage: decimals: rounded: decimals must be"))
  }

  @Test func rejectsImagesThatDoNotFitTheModel() throws {
    let wrong = ImageBatch(
      shape: ImageShape(height: 4, width: 4, channels: 1), pixels: [Float](repeating: 0, count: 16),
      labels: [0])
    try wrong.npzArchive.write(to: URL(fileURLWithPath: path("small.npz")))
    let text = """
      { classifier: { model: "\(Self.model.path)" },
        data: { clean: "fashion-mnist:test", adversarial: "small.npz" } }
      """
    try text.write(toFile: path("shape.json5"), atomically: true, encoding: .utf8)
    let result = try BulwarkProcess.run(["score", path("shape.json5"), "--limit", "5"])
    #expect(result.status == 1)
    #expect(
      result.error.contains(
        "data.adversarial: images are 4x4x1 but the classifier takes 28x28x1"))
  }
}
