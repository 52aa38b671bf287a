import BulwarkCLI
import BulwarkData
import BulwarkDefenses
import BulwarkPipeline
import BulwarkTestSupport
import Foundation
import Testing

@testable import bulwark_example

/// The example executable `bulwark-example` runs the whole command line with `gaussian-blur`;
/// plain `bulwark` does not know it.
@Suite(.enabled(if: BuiltinDataset.fashionMNISTTest.isInstalled, "needs dataset-fashion-mnist"))
struct CustomDefenseCommandsTests {
  static let pipelines = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("pipelines")
  let scratch: ScratchFolder
  var folder: URL { scratch.url }
  /// The committed `pipelines/examples/gaussian-blur.json5`, copied into a temporary tree
  /// beside a link to the models so that its attack cache stays out of the repository.
  let file: String

  init() throws {
    scratch = try ScratchFolder("bulwark-custom")
    let examples = scratch.url.appendingPathComponent("examples")
    try FileManager.default.createDirectory(at: examples, withIntermediateDirectories: true)
    try FileManager.default.createSymbolicLink(
      at: scratch.url.appendingPathComponent("models"),
      withDestinationURL: Self.pipelines.appendingPathComponent("models"))
    let copy = examples.appendingPathComponent("gaussian-blur.json5")
    try FileManager.default.copyItem(
      at: Self.pipelines.appendingPathComponent("examples/gaussian-blur.json5"), to: copy)
    file = copy.path
  }

  @Test func theExampleExecutableScoresThePipeline() throws {
    let result = try BulwarkProcess.run(
      ["score", file, "--limit", "20"], program: "bulwark-example")
    #expect(result.status == 0, "\(result.error)")
    let lines = result.output.split(separator: "\n").map(String.init)
    #expect(lines.first?.hasPrefix("Clean: ") == true && lines.first?.hasSuffix(" / 20") == true)
    #expect(lines.dropFirst().first?.hasPrefix("Adv: ") == true)
    #expect(lines.dropFirst().first?.hasSuffix(" / 20") == true)
    #expect(lines.dropFirst(2).first?.hasPrefix("Harmonic mean: ") == true)
    #expect(lines.contains { $0.hasPrefix("  preprocessor gaussian-blur ") }, "\(result.output)")
    let validate = try BulwarkProcess.run(["validate", file], program: "bulwark-example")
    #expect(validate.status == 0, "\(validate.error)")
    #expect(validate.output == "\(file): ok\n")
  }

  @Test func plainBulwarkRefusesTheUnknownType() throws {
    for command in ["validate", "score"] {
      let result = try BulwarkProcess.run([command, file])
      #expect(result.status == 1)
      #expect(
        result.error.contains(
          "\(file): preprocessors[0].type: unknown preprocessor 'gaussian-blur' (registered: "
            + "autoencoder, external, feature-squeezing, jpeg-compression, spatial-smoothing, "
            + "total-variation-minimization)"),
        "\(result.error)")
    }
  }
}

/// `BulwarkCommand.run(_:registering:console:)` in this process.
@Suite struct RegisteringCommandTests {
  /// A preprocessor whose name clashes with a built-in.
  struct Clash: RegisteredPreprocessor {
    static let typeName = "spatial-smoothing"
    var isRandomized: Bool { false }
    func process(_ batch: ImageBatch) -> ImageBatch { batch }
  }

  @Test func clashingNamesFailBeforeTheCommandRuns() {
    let cases: [([any RegisteredDefense.Type], String)] = [
      ([Clash.self], "cannot register Clash: a preprocessor named 'spatial-smoothing'"),
      (
        [GaussianBlur.self, GaussianBlur.self],
        "cannot register GaussianBlur: a preprocessor named 'gaussian-blur'"
      ),
    ]
    for (defenses, message) in cases {
      let transcript = CapturedConsole()
      let status = BulwarkCommand.run(
        ["--help"], registering: defenses, console: transcript.console)
      #expect(status == .failure)
      let name = defenses[0].typeName
      #expect(
        transcript.standardError == "error: registry: \(name): \(message) is already registered\n")
      #expect(transcript.standardOutput.isEmpty)
    }
  }

  @Test func theRegisteredDefenseRunsThroughACommand() throws {
    let scratch = try ScratchFolder("bulwark-registering")
    let folder = scratch.url
    let input = folder.appendingPathComponent("x.npy")
    let output = folder.appendingPathComponent("y.npy")
    try NPYFile.write(
      NDArray(shape: [1, 1, 3, 1], storage: .float32([0, 1, 0])), to: input)
    let arguments = [
      "preprocess", "--stage", "{ type: 'gaussian-blur', sigma: 0.8493218, radius: 1 }",
      "--input", input.path, "--output", output.path,
    ]
    let transcript = CapturedConsole()
    let status = BulwarkCommand.run(
      arguments, registering: [GaussianBlur.self], console: transcript.console)
    #expect(status == .success, "\(transcript.standardError)")
    guard case .float32(let values) = try NPYFile.read(from: output).storage else {
      Issue.record("not float32")
      return
    }
    // The kernel [1/4, 1/2, 1/4] along the width; the height of 1 reflects onto itself.
    expectClose(values, [0.25, 0.5, 0.25], tolerance: 1e-6)
    // The registry is bound for that run only.
    #expect(BulwarkCommand.run(arguments, console: transcript.console) == .failure)
    #expect(transcript.standardError.contains("unknown preprocessor 'gaussian-blur'"))
  }
}
