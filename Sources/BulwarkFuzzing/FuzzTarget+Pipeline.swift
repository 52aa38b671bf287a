import BulwarkData
import BulwarkDefenses
import BulwarkPipeline
import Foundation

extension FuzzTarget {
  /// The model file name a fuzzed pipeline may use: it exists (empty) in ``pipelineFolder``,
  /// since a pipeline whose model is missing is refused, and nothing here loads it.
  static let pipelineModelName = "model.safetensors"

  /// The folder relative paths in a fuzzed pipeline resolve against; it holds only
  /// ``pipelineModelName``, created on first use.
  static let pipelineFolder: URL = {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("bulwark-fuzz-pipeline", isDirectory: true)
    // A failure here shows as "no such file" errors for every input, not as a crash.
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    _ = FileManager.default.createFile(
      atPath: folder.appendingPathComponent(pipelineModelName).path, contents: Data())
    return folder
  }()

  /// Parses the text as `validate` does (the description and the search space, each on its
  /// own so that an error in one does not hide the other), then runs the in-process stages on
  /// one small colour image and one row of probabilities. External programs never run.
  static func readPipeline(_ bytes: [UInt8], file: String) throws {
    guard let text = String(validating: bytes, as: UTF8.self) else { return }
    let url = pipelineFolder.appendingPathComponent(file)
    let space = Result { () throws(PipelineErrors) in
      try SearchSpace(json5: text, file: url.path, folder: pipelineFolder)
    }
    let description = try PipelineDescription(json5: text, file: url, folder: pipelineFolder)
    _ = try space.get()
    try runStages(of: description)
  }

  static func runStages(of description: PipelineDescription) throws {
    let shape = ImageShape(height: 8, width: 8, channels: 3)
    let pixels = (0..<shape.valueCount).map { Float($0 % 17) / 16 }
    let batch = ImageBatch(shape: shape, pixels: pixels, labels: [0])
    for stage in description.preprocessors where stage.externalCommand == nil {
      let output = try stage.process(batch)
      _ = try stage.backward(gradient: output.pixels, input: batch)
    }
    let classes = 10
    let probabilities = Probabilities(
      rows: 1, columns: classes,
      values: (0..<classes).map { Float($0 + 1) / Float(classes * (classes + 1) / 2) })
    for stage in description.postprocessors
    where stage.externalCommand == nil && !stage.requiresFitting {
      let output = try stage.process(probabilities)
      _ = try stage.backward(gradient: output.values, input: probabilities)
    }
  }
}
