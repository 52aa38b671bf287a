import BulwarkCore
import BulwarkData
import BulwarkModel
import Foundation

/// A tiny synthetic classification problem for end-to-end runs: a 4x4 linear classifier and
/// labelled images whose class is their brightness, so that every run takes milliseconds.
enum TinyProblem {
  /// Writes `tiny.safetensors` (or `name`): class 1 is brighter than `threshold / 16` on average,
  /// class 0 darker (logit1 - logit0 = 2 sum(x) - 2 threshold). With `classNames`, the file
  /// records them as `bulwark train` does.
  static func writeClassifier(
    in folder: URL, name: String = "tiny.safetensors", threshold: Float = 8,
    classNames: [String]? = nil
  ) throws {
    let architecture = Architecture(
      input: ImageShape(height: 4, width: 4, channels: 1), classes: 2,
      layers: [Layer(.flatten), .linear("fc", 16, 2)])
    let network = try Network(
      architecture: architecture,
      parameters: [
        "fc.weight": [Float](repeating: -1, count: 16) + [Float](repeating: 1, count: 16),
        "fc.bias": [threshold, -threshold],
      ])
    let metadata = try classNames.map {
      [classNamesMetadataKey: String(decoding: try JSONEncoder().encode($0), as: UTF8.self)]
    }
    try network.write(to: folder.appendingPathComponent(name), metadata: metadata ?? [:])
  }

  /// Writes `count` images, alternately dark (class 0) and bright (class 1), each pixel 0.4 or
  /// 0.6 plus seeded noise in [-0.25, 0.25), as an .npz file.
  static func writeImages(_ name: String, count: Int, seed: UInt64, in folder: URL) throws {
    var generator = SeededGenerator(seed: seed)
    var pixels: [Float] = []
    var labels: [Int] = []
    for index in 0..<count {
      let label = index % 2
      labels.append(label)
      for _ in 0..<16 {
        let noise = Float(generator.next() % 1_000) / 1_000 * 0.5 - 0.25
        pixels.append(min(1, max(0, (label == 1 ? 0.6 : 0.4) + noise)))
      }
    }
    let batch = ImageBatch(
      shape: ImageShape(height: 4, width: 4, channels: 1), pixels: pixels, labels: labels,
      classNames: ["dark", "bright"])
    try batch.npzArchive.write(to: folder.appendingPathComponent(name))
  }
}
