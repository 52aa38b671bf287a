import BulwarkDefenses
import Testing

@testable import BulwarkPipeline

/// JSON5 numbers and objects as the specification (json5.org, ECMAScript 5.1 numeric literals)
/// defines them, and what a pipeline file makes of `null` and duplicate keys.
@Suite struct JSON5ParserTests {
  /// Parses `text` as a whole document.
  func parse(_ text: String) throws(PipelineError) -> JSONValue {
    var parser = JSON5Parser(text, file: "p.json5")
    return try parser.parse()
  }

  /// Number texts and their values; `0x3` was read as the bit pattern 3, 1.5e-323.
  static let numbers: [(text: String, value: Double)] = [
    ("0x3", 3), ("0X1f", 31), ("-0xFF", -255), ("+0x10", 16), ("0", 0), ("-0", 0),
    ("12", 12), ("1.5", 1.5), (".5", 0.5), ("5.", 5), ("1e3", 1000), ("2.5E-1", 0.25),
    ("0.001", 0.001), ("0e5", 0), ("+7", 7), ("-Infinity", -.infinity),
  ]

  @Test(arguments: numbers)
  func readsNumbersAsTheirValue(text: String, value: Double) throws {
    #expect(try parse(text) == .number(value))
  }

  @Test(arguments: [
    ("003", "a number with a leading zero"), ("00.5", "a number with a leading zero"),
    ("-01", "a number with a leading zero"), ("0x", "malformed number"),
    ("0x1p3", "malformed number"), ("1e", "malformed number"), ("1.2.3", "malformed number"),
    (".", "malformed number"), ("+", "malformed number"), ("1e+", "malformed number"),
  ])
  func refusesWhatJSON5DoesNot(text: String, problem: String) {
    let error = #expect(throws: PipelineError.self) { try parse("{ window: \(text) }") }
    #expect(error?.path == "line 1, column 11")
    #expect(error?.message.hasPrefix("malformed JSON5: \(problem)") == true)
  }

  @Test func parsesAHexadecimalWindowAsItsValue() throws {
    let stage = try DefenseRegistry.standard.preprocessor(
      json5: "{ type: 'spatial-smoothing', window: 0x3 }")
    #expect((stage as? SpatialSmoothing)?.window == 3)
  }

  /// A key said twice is an error naming its path and both lines, not a silent last-wins.
  @Test func namesADuplicateKeyByItsPath() {
    let text = """
      {
        classifier: { model: "a.safetensors" },
        preprocessors: [{ type: "spatial-smoothing", window: 3,
                          window: 5 }],
        classifier: { model: "b.safetensors" },
      }
      """
    let error = #expect(throws: PipelineError.self) { try parse(text) }
    #expect(error?.file == "p.json5")
    #expect(error?.path == "preprocessors[0].window")
    #expect(
      error?.message == "the key 'window' appears twice in one object (lines 3 and 4); keep one")
    let top = #expect(throws: PipelineError.self) {
      try parse("{ classifier: {},\n'classifier': {} }")
    }
    #expect(top?.path == "classifier")
  }

  /// `window: null` took the default; null is no integer.
  @Test func refusesNullForAParameter() {
    #expect(
      stageErrors("{ type: 'spatial-smoothing', window: null }")
        == ["p.json5: window: expected an integer, found null"])
    #expect(
      stageErrors("{ type: 'jpeg-compression', quality: 1e9 }")
        == [
          "p.json5: quality: jpeg-compression: quality must be an integer in 1...100, got 1000000000"
        ])
    #expect(
      stageErrors("{ type: 'spatial-smoothing', window: 1e9 }")
        == [
          "p.json5: window: spatial-smoothing: window must be an integer in 1...255, got 1000000000"
        ])
  }
}
