import BulwarkTestSupport
import Foundation
import Testing

/// A user's own fitted postprocessor (`nearest-centroid` in `bulwark-example`) goes through
/// `fit`, `score`, `tune` as a grid alternative and the tuner's `best.json5` exactly like the
/// built-in distribution classifier: the pipeline layer knows it only through
/// `FittedPostprocessor`.
@Suite struct UserFittedPostprocessorTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }

  init() throws {
    scratch = try ScratchFolder("bulwark-user-fitted")
    try TinyProblem.writeClassifier(in: scratch.url)
    try TinyProblem.writeImages("fit.npz", count: 40, seed: 3, in: scratch.url)
    try TinyProblem.writeImages("eval.npz", count: 60, seed: 4, in: scratch.url)
  }

  func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  func run(_ arguments: [String]) throws -> BulwarkProcess.Result {
    try BulwarkProcess.run(arguments, program: "bulwark-example")
  }

  func write(_ name: String, _ text: String) throws -> String {
    try text.write(toFile: path(name), atomically: true, encoding: .utf8)
    return path(name)
  }

  @Test func fitsScoresAndRefusesItsOwnFitImages() throws {
    let file = try write(
      "p.json5",
      """
      {
        classifier: { model: "tiny.safetensors" },
        data: { clean: "eval.npz", adversarial: { attack: { method: "fgsm", eps: 0.15 } } },
        postprocessors: [
          { type: "nearest-centroid", temperature: 0.05, model: "centroids.json",
            fit: { clean: "fit.npz", adversarial: { attack: { method: "fgsm", eps: 0.15 } } } },
        ],
      }
      """)
    let early = try run(["score", file])
    #expect(early.status == 1)
    #expect(early.error.contains("postprocessors[0]: nearest-centroid is not fitted"))
    #expect(early.error.contains("run 'bulwark fit \(file)' first"))

    let fit = try run(["fit", file, "--json"])
    #expect(fit.status == 0, "\(fit.error)")
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(fit.output.utf8)) as? [String: Any])
    #expect(report["stage"] as? String == "nearest-centroid")
    #expect(report["cleanImages"] as? Int == 40)
    #expect(report["adversarialImages"] as? Int == 40)
    let centroids = try JSONDecoder().decode(
      [[Float]].self, from: Data(contentsOf: URL(fileURLWithPath: path("centroids.json"))))
    #expect(centroids.count == 2 && centroids.allSatisfy { $0.count == 2 })
    let record = try #require(
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: URL(fileURLWithPath: path("centroids.json.fit.json"))))
        as? [String: Any])
    #expect(record["stage"] as? String == "nearest-centroid")
    #expect((record["cleanFingerprints"] as? String)?.count == 428)  // base64 of 40 x 8 bytes

    let score = try run(["score", file])
    #expect(score.status == 0, "\(score.error)")
    #expect(score.output.hasPrefix("Clean: ") && score.output.contains(" / 60\nAdv: "))
    #expect(score.output.contains("postprocessor nearest-centroid"))

    // Scored on the images it learnt from: refused, as for the distribution classifier.
    let leaky = try write(
      "leaky.json5",
      try String(contentsOfFile: file, encoding: .utf8)
        .replacingOccurrences(of: "clean: \"eval.npz\"", with: "clean: \"fit.npz\""))
    let refused = try run(["score", leaky])
    #expect(refused.status == 1)
    #expect(
      refused.error.contains(
        "data.clean: 40 of 40 images were used to fit the nearest-centroid (40 from fit.clean"))
  }

  @Test func tunesItAsAGridAlternativeAndScoresTheBestPipeline() throws {
    let file = try write(
      "t.json5",
      """
      {
        classifier: { model: "tiny.safetensors" },
        data: { clean: "eval.npz", adversarial: { attack: { method: "fgsm", eps: 0.15 } } },
        tune: {
          sample: 40,
          preprocessors: [ { oneOf: [ null, { type: "spatial-smoothing", window: 2 } ] } ],
          postprocessors: [ { type: "nearest-centroid", temperature: [0.01, 0.1] } ],
        },
      }
      """)
    let tune = try run(["tune", file, "--out", path("run")])
    #expect(tune.status == 0, "\(tune.error)")
    #expect(tune.output.contains("Configurations: 4 (4 scored now) on 40 evaluation images"))
    #expect(tune.output.contains("Winner: ") && tune.output.contains("nearest-centroid"))
    let model = path("run/best.nearest-centroid.json")
    #expect(FileManager.default.fileExists(atPath: model))
    #expect(FileManager.default.fileExists(atPath: model + ".fit.json"))
    let best = try String(contentsOfFile: path("run/best.json5"), encoding: .utf8)
    #expect(best.contains("excludeFitted: true"))
    #expect(best.contains("model: \"best.nearest-centroid.json\""))
    #expect(best.contains("Its nearest-centroid was fitted on the sample's fit part"))

    let tail = Array(
      tune.output.split(separator: "\n").map(String.init).drop { !$0.hasPrefix("Clean: ") })
    #expect(tail.first?.hasPrefix("Clean: ") == true, "\(tail)")
    let score = try run(["score", path("run/best.json5")])
    #expect(score.status == 0, "\(score.error)")
    #expect(
      Array(score.output.split(separator: "\n").prefix(tail.count).map(String.init)) == tail)
  }
}
