import BulwarkTestSupport
import Foundation
import Testing

/// `bulwark bench model --model FILE` on the tiny classifier: a few milliseconds of timing each.
@Suite struct BenchModelCommandTests {
  let scratch: ScratchFolder
  var model: String { scratch.url.appendingPathComponent("tiny.safetensors").path }

  init() throws {
    scratch = try ScratchFolder("bulwark-bench")
    try TinyProblem.writeClassifier(in: scratch.url)
  }

  @Test func measuresAnyModelFileForwardAndBackward() throws {
    let result = try BulwarkProcess.run(
      ["bench", "model", "--model", model, "--input", "4x4x1", "--seconds", "0.01", "--json"])
    #expect(result.status == 0, "\(result.error)")
    let rows = try #require(
      try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [[String: Any]])
    let threads = Set([1, ProcessInfo.processInfo.activeProcessorCount]).sorted()
    #expect(
      rows.map { $0["work"] as? String } == threads.map { _ in "forward" }
        + threads.map { _ in "forward+backward" })
    #expect(rows.map { $0["threads"] as? Int } == threads + threads)
    for row in rows {
      #expect(row["network"] as? String == "tiny.safetensors")
      #expect(row["batchSize"] as? Int == 256)
      #expect((row["imagesPerSecond"] as? Double ?? 0) > 0)
    }
  }

  @Test func refusesAShapeTheModelDoesNotTake() throws {
    let wrong = try BulwarkProcess.run(
      ["bench", "model", "--model", model, "--input", "5x5x1", "--seconds", "0.01"])
    #expect(wrong.status == 1)
    #expect(wrong.error.contains("5x5x1"), "\(wrong.error)")
    #expect(wrong.error.contains("4x4x1, fixed by the architecture"), "\(wrong.error)")
    let malformed = try BulwarkProcess.run(["bench", "model", "--model", model, "--input", "4x4"])
    #expect(malformed.status == 2)
    #expect(malformed.error.contains("--input expects an image shape HxWxC, such as 64x64x3"))
    let alone = try BulwarkProcess.run(["bench", "model", "--input", "4x4x1"])
    #expect(alone.status == 2)
    #expect(alone.error.contains("--input goes with --model FILE"))
  }
}
