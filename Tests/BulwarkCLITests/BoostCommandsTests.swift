import BulwarkCore
import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

/// `boost fit` and `boost predict` end to end on a small seeded problem.
@Suite struct BoostCommandsTests {
  @Test func fitThenPredictLearnsASeparableProblem() throws {
    let scratch = try ScratchFolder("bulwark-boost")
    let folder = scratch.url
    // Three classes, each a noisy one-hot direction in 4 features.
    var generator = SeededGenerator(seed: 4)
    let rows = 300
    var features: [Float] = []
    var labels: [Int64] = []
    for row in 0..<rows {
      let label = row % 3
      for column in 0..<4 {
        features.append((column == label ? 1 : 0) + Float(generator.gaussian()) * 0.3)
      }
      labels.append(Int64(label))
    }
    let x = folder.appendingPathComponent("x.npy")
    let y = folder.appendingPathComponent("y.npy")
    try NPYFile.write(NDArray(shape: [rows, 4], storage: .float32(features)), to: x)
    try NPYFile.write(NDArray(shape: [rows], storage: .int64(labels)), to: y)
    let model = folder.appendingPathComponent("model.txt").path
    let fit = try BulwarkProcess.run([
      "boost", "fit", "--x", x.path, "--y", y.path, "--valid-fraction", "0.2", "--rounds", "30",
      "--num-leaves", "7", "--early-stopping", "5", "--out", model, "--json",
    ])
    #expect(fit.status == 0, "\(fit.error)")
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(fit.output.utf8)) as? [String: Any])
    #expect(report["validationRows"] as? Int == 60)
    #expect((report["validationAccuracy"] as? Double ?? 0) > 0.9)
    let text = try String(contentsOfFile: model, encoding: .utf8)
    #expect(text.hasPrefix("tree\nversion=v4\nnum_class=3\n"))

    let out = folder.appendingPathComponent("p.npy")
    let predict = try BulwarkProcess.run([
      "boost", "predict", "--model", model, "--x", x.path, "--out", out.path,
    ])
    #expect(predict.status == 0, "\(predict.error)")
    let probabilities = try NPYFile.read(from: out)
    #expect(probabilities.shape == [rows, 3])
    guard case .float64(let values) = probabilities.storage else {
      Issue.record("expected float64 probabilities")
      return
    }
    for row in 0..<rows {
      let sum = values[row * 3..<(row + 1) * 3].reduce(0, +)
      #expect(abs(sum - 1) < 1e-9)
    }
  }

  @Test func badInputsAreClearErrors() throws {
    let missing = try BulwarkProcess.run([
      "boost", "fit", "--x", "/nonexistent/x.npy", "--y", "/nonexistent/y.npy", "--out", "m.txt",
    ])
    #expect(missing.status == 1)
    #expect(missing.error.contains("/nonexistent/x.npy"))
    let usage = try BulwarkProcess.run([
      "boost", "fit", "--x", "x", "--y", "y", "--out", "m", "--early-stopping", "3",
    ])
    #expect(usage.status == 2)
    #expect(usage.error.contains("--valid-fraction"))
  }
}
