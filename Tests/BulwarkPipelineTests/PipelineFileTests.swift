import BulwarkData
import BulwarkDefenses
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

@Suite struct PipelineFileTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }

  init() throws {
    scratch = try ScratchFolder("bulwark-pipeline")
    try FileManager.default.createDirectory(
      at: scratch.url.appendingPathComponent("models"), withIntermediateDirectories: true)
    try Data([0]).write(to: scratch.url.appendingPathComponent("models/m.safetensors"))
    try TableClassifier.batch([(0, 0)]).npzArchive.write(
      to: scratch.url.appendingPathComponent("adv.npz"))
  }

  /// Parses `text` as a pipeline file in the test folder.
  func parse(
    _ text: String, registry: DefenseRegistry = .standard
  ) throws(PipelineErrors) -> PipelineDescription {
    try PipelineDescription(
      json5: text, file: folder.appendingPathComponent("p.json5"), folder: folder,
      registry: registry)
  }

  /// The messages of every error `text` gives, as printed.
  func errors(_ text: String, registry: DefenseRegistry = .standard) -> [String] {
    do {
      _ = try parse(text, registry: registry)
      return []
    } catch {
      return error.errors.map { "\($0.path): \($0.message)" }
    }
  }

  /// A valid file with `stages` as its preprocessors.
  func pipeline(preprocessors stages: String, postprocessors: String = "") -> String {
    """
    {
      classifier: { model: "models/m.safetensors" },
      data: { clean: "fashion-mnist:test", adversarial: "adv.npz" },
      preprocessors: [\(stages)],
      postprocessors: [\(postprocessors)],
    }
    """
  }

  @Test func readsAValidFileWithCommentsAndTrailingCommas() throws {
    let description = try parse(
      pipeline(
        preprocessors: """
          // a median filter
          { type: 'spatial-smoothing', window: 5, },
          /* JPEG */ { type: "jpeg-compression", quality: 75 },
          """, postprocessors: "{ type: \"high-confidence\", cutoff: .5 }"))
    #expect(description.model == folder.appendingPathComponent("models/m.safetensors"))
    #expect(description.clean == .builtin(.fashionMNISTTest))
    #expect(description.adversarial == .data(.npz(folder.appendingPathComponent("adv.npz"))))
    #expect((description.preprocessors[0] as? SpatialSmoothing)?.window == 5)
    #expect((description.preprocessors[1] as? JPEGCompression)?.quality == 75)
    #expect((description.postprocessors[0] as? HighConfidence)?.cutoff == 0.5)
  }

  @Test func resolvesRelativePathsAgainstTheFileFolder() throws {
    let url = folder.appendingPathComponent("p.json5")
    try pipeline(preprocessors: "").write(to: url, atomically: true, encoding: .utf8)
    let elsewhere = FileManager.default.currentDirectoryPath
    #expect(elsewhere != folder.path)
    let description = try PipelineDescription(contentsOf: url)
    #expect(description.model.path == folder.appendingPathComponent("models/m.safetensors").path)
    #expect(description.cacheFolder.path == folder.appendingPathComponent(".bulwark-cache").path)
  }

  @Test(arguments: [
    ("{\n  classifier: {\n    model: 'm',,\n  }\n}", "line 3, column 16"),
    ("{ a: [1, 2 }", "line 1, column 12"),
    ("{\n  // comment\n  a: \"open\n}", "line 3, column 11"),
    ("{\n  a: 1\n  b: 2\n}", "line 3, column 3"),
  ])
  func reportsMalformedJSON5WithLineAndColumn(text: String, location: String) {
    let found = errors(text)
    #expect(found.count == 1)
    #expect(found.first?.hasPrefix(location + ": malformed JSON5") == true, "\(found)")
  }

  @Test func namesUnknownKeysWithASuggestion() {
    let found = errors(
      pipeline(
        preprocessors: """
          { type: "spatial-smoothing" }, { type: "jpeg-compression", qualty: 50 }
          """))
    #expect(found == ["preprocessors[1].qualty: unknown key; did you mean quality?"])
    #expect(
      errors("{ clasifier: {}, data: {} }").contains(
        "clasifier: unknown key; did you mean classifier?"))
  }

  @Test func listsRegisteredTypesForAnUnknownType() {
    let found = errors(pipeline(preprocessors: "{ type: \"spatial-smothing\", window: 3 }"))
    #expect(
      found == [
        "preprocessors[0].type: unknown preprocessor 'spatial-smothing'; did you mean "
          + "spatial-smoothing? (registered: autoencoder, external, feature-squeezing, "
          + "jpeg-compression, spatial-smoothing, total-variation-minimization)"
      ])
  }

  @Test func namesStageParameterRangeAndValue() {
    let found = errors(pipeline(preprocessors: "{ type: \"jpeg-compression\", quality: 150 }"))
    #expect(
      found == [
        "preprocessors[0].quality: jpeg-compression: quality must be an integer in 1...100, "
          + "got 150"
      ])
    #expect(
      errors(pipeline(preprocessors: "{ type: \"spatial-smoothing\", window: \"3\" }"))
        == ["preprocessors[0].window: expected an integer, found \"3\""])
  }

  @Test func listsEveryProblemAtOnce() {
    let found = errors(
      """
      { classifier: { model: "missing.safetensors" },
        data: { clean: "fashion-mnist:test", adversarial: { attack: { method: "pgd", eps: -1 } } },
        preprocessors: [{ type: "feature-squeezing", bitDepth: 0, clipValues: [0, 1] }] }
      """)
    #expect(found.count == 3, "\(found)")
    #expect(found.contains { $0.hasPrefix("classifier.model: no such file") })
    #expect(found.contains("data.adversarial.attack.eps: must be a finite number >= 0, got -1.0"))
    #expect(found.contains { $0.hasPrefix("preprocessors[0].bitDepth: feature-squeezing") })
  }

  @Test func registersACustomPreprocessor() throws {
    var registry = DefenseRegistry.standard
    try registry.register(Remap.self)
    let description = try parse(
      pipeline(preprocessors: "{ type: \"test-remap\" }"), registry: registry)
    #expect(description.preprocessors.first is Remap)
    #expect(throws: PipelineError.self) { try registry.register(Remap.self) }
    #expect(
      errors(pipeline(preprocessors: "{ type: \"test-remap\" }")).first?.hasPrefix(
        "preprocessors[0].type: unknown preprocessor 'test-remap'") == true)
  }

  @Test func buildsOneStageFromJSON5() throws {
    let stage = try DefenseRegistry.standard.postprocessor(
      json5: "{ type: 'rounded', decimals: 2 }")
    #expect((stage as? Rounded)?.decimals == 2)
    #expect(throws: PipelineErrors.self) {
      try DefenseRegistry.standard.postprocessor(json5: "{ type: 'rounded', decimal: 2 }")
    }
  }
}
