import BulwarkData
import BulwarkDefenses
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

@Suite struct ExternalStageTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }

  init() throws {
    scratch = try ScratchFolder("bulwark-external-stage")
    try Data([0]).write(to: scratch.url.appendingPathComponent("m.safetensors"))
  }

  func parse(_ preprocessors: String) throws -> PipelineDescription {
    let text = """
      { classifier: { model: "m.safetensors" },
        data: { clean: "fashion-mnist:test", adversarial: "fashion-mnist:test" },
        preprocessors: [\(preprocessors)] }
      """
    return try PipelineDescription(
      json5: text, file: folder.appendingPathComponent("p.json5"), folder: folder)
  }

  @Test func externalStagesRunInTheFileFolderAndNeedPermission() throws {
    let description = try parse(
      """
      { type: "external", command: ["python3", "a.py"], timeout: 5 },
      { type: "spatial-smoothing" }, { type: "external", command: ["cat"] }
      """)
    #expect(
      description.externalCommands == [
        ExternalCommand(stage: "preprocessors[0]", command: ["python3", "a.py"]),
        ExternalCommand(stage: "preprocessors[2]", command: ["cat"]),
      ])
    let first = try #require(description.preprocessors.first as? ExternalProcessDefense)
    #expect(first.workingDirectory == folder)
    #expect(first.timeout == 5)
    let error = try #require(throws: PipelineError.self) {
      try description.requireExternalAllowed(false)
    }
    #expect(
      error.description == "\(folder.path)/p.json5: preprocessors[0] (python3 a.py), "
        + "preprocessors[2] (cat) run external programs; allow external programs to run it")
    #expect(error.remedy == .allowExternalPrograms)
    try description.requireExternalAllowed(true)
  }

  @Test func aPipelineWithoutExternalStagesNeedsNoPermission() throws {
    let description = try parse("{ type: \"spatial-smoothing\" }")
    #expect(description.externalCommands.isEmpty)
    try description.requireExternalAllowed(false)
  }

  @Test func badExternalParametersAreNamed() {
    #expect(throws: PipelineErrors.self) { try parse("{ type: \"external\", command: [] }") }
    do {
      _ = try parse("{ type: \"external\", command: [\"cat\"], timeout: -1 }")
      Issue.record("accepted a negative timeout")
    } catch {
      #expect("\(error)".contains("preprocessors[0].timeout: external: timeout must be"))
    }
  }
}

/// A type that is neither a preprocessor nor a postprocessor cannot conform to
/// `RegisteredDefense` (its `registration` has no public initialiser), so it cannot reach a
/// registry: the compiler refuses it.
@Suite struct RegisteringTests {
  struct Blur: RegisteredPreprocessor {
    static let typeName = "blur"
    var isRandomized: Bool { false }
    func process(_ batch: ImageBatch) -> ImageBatch { batch }
  }

  struct Calibration: RegisteredPostprocessor {
    static let typeName = "calibration"
    func process(_ probabilities: Probabilities) -> Probabilities { probabilities }
  }

  @Test func addsPreprocessorsAndPostprocessorsFromOneList() throws {
    let registry = try DefenseRegistry.standard.registering([Calibration.self, Blur.self])
    #expect(registry.preprocessorNames.contains("blur"))
    #expect(registry.postprocessorNames.contains("calibration"))
    #expect(!DefenseRegistry.standard.preprocessorNames.contains("blur"))
  }

  @Test func refusesClashes() {
    let cases: [([any RegisteredDefense.Type], String)] = [
      ([Blur.self, Blur.self], "cannot register Blur: a preprocessor named 'blur' is already"),
      ([Calibration.self, Blur.self, Calibration.self], "a postprocessor named 'calibration'"),
    ]
    for (types, message) in cases {
      #expect {
        try DefenseRegistry.standard.registering(types)
      } throws: { error in
        "\(error)".contains(message)
      }
    }
  }
}
