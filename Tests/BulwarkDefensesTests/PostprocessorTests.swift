import BulwarkCore
import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkDefenses

@Suite struct PostprocessorTests {
  @Test func highConfidenceZeroesValuesStrictlyBelowTheCutoff() throws {
    let input = Probabilities(rows: 2, columns: 3, values: [0.5, 0.25, 0.25, 0.2, 0.2, 0.6])
    let output = try HighConfidence(cutoff: 0.25).process(input)
    #expect(output.values == [0.5, 0.25, 0.25, 0, 0, 0.6])
    let strict = try HighConfidence(cutoff: 0.7).process(input)
    #expect(strict.values == [0, 0, 0, 0, 0, 0])
    #expect(strict.abstainedRows == [0, 1])
    #expect(strict.predictedClasses == [nil, nil])
    #expect(output.abstainedRows.isEmpty)
  }

  /// ART's own test vector (`tests/defences/postprocessor/test_reverse_sigmoid.py`, beta 1,
  /// gamma 0.1).
  @Test func reverseSigmoidMatchesARTsTestVector() throws {
    let input: [Float] = [
      0.12109935, 0.0498215, 0.0993958, 0.06410096, 0.11366928, 0.04645343, 0.06419807,
      0.30685693, 0.07616714, 0.05823757,
    ]
    let expected: [Float] = [
      0.10733664, 0.07743666, 0.09712707, 0.08230411, 0.10377649, 0.0764482, 0.08234023,
      0.20600921, 0.08703023, 0.08019119,
    ]
    let output = try ReverseSigmoid(beta: 1, gamma: 0.1).process(
      Probabilities(rows: 1, columns: 10, values: input))
    // ART's expected values are float32 outputs of its model; the formula in double precision
    // lands within 2e-7 of them.
    expectClose(output.values, expected, tolerance: 2e-7)
    #expect(abs(output.values.reduce(0, +) - 1) < 1e-6)
  }

  @Test func reverseSigmoidClipsInSinglePrecisionAsART() throws {
    // ART 1.20.1 on these float32 rows: 1 - 1e-9 rounds to 1, so a certain row's top value gets
    // the full perturbation beta / 2.
    let output = try ReverseSigmoid(beta: 1, gamma: 0.1).process(
      Probabilities(rows: 2, columns: 3, values: [1, 0, 0, 0.5, 0.5, 0]))
    let expected: [Float] = [0.3917364, 0.3041318, 0.3041318, 0.36018273, 0.36018273, 0.27963454]
    expectClose(output.values, expected, tolerance: 2e-7)
  }

  /// Expected values from `numpy.around` on float32 arrays (NumPy 2.4).
  @Test(
    arguments: [
      (1, [0.1, 0.1, 0, 0, 0.2, 1, 0.3, 0.5, 0]),
      (2, [0.12, 0.14, 0, 0, 0.23, 1, 0.33, 0.5, 0]),
      (3, [0.125, 0.135, 0, 0.002, 0.234, 1, 0.333, 0.5, 0]),
    ] as [(Int, [Float])])
  func roundedMatchesNumPy(decimals: Int, expected: [Float]) throws {
    let input: [Float] = [0.125, 0.135, 0.0005, 0.0015, 0.2345, 0.99951, 1.0 / 3, 0.5, 0.00049]
    let output = try Rounded(decimals: decimals).process(
      Probabilities(rows: 1, columns: 9, values: input))
    #expect(output.values == expected)
  }

  @Test func roundedLeavesValuesWhenTheScaleOverflows() throws {
    let input = Probabilities(rows: 1, columns: 2, values: [0.1, 0.9])
    #expect(try Rounded(decimals: 40).process(input) == input)
  }

  @Test func classLabelsOneHotsEachRowOnItsOwn() {
    let input = Probabilities(
      rows: 4, columns: 3, values: [0.1, 0.7, 0.2, 0.5, 0.2, 0.3, 0.4, 0.2, 0.4, 0, 0, 0])
    let output = ClassLabels().process(input)
    #expect(output.values == [0, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0])
    #expect(output.predictedClasses == [1, 0, 0, nil])
  }

  @Test func gaussianNoiseIsSeededAndRenormalises() throws {
    let input = Probabilities(
      rows: 3, columns: 4,
      values: [
        0.7, 0.1, 0.1, 0.1, 0.25, 0.25, 0.25, 0.25, 0, 0, 1, 0,
      ])
    let noise = try GaussianNoise(scale: 0.2, seed: 9)
    let first = noise.process(input)
    #expect(noise.process(input) == first)
    #expect(try GaussianNoise(scale: 0.2, seed: 10).process(input) != first)
    for row in 0..<3 {
      let values = first.row(row)
      #expect(values.allSatisfy { $0 >= 0 })
      #expect(abs(values.reduce(0, +) - 1) < 1e-5)
    }
    // Rows keep their noise whatever the other rows are.
    let alone = noise.process(Probabilities(rows: 1, columns: 4, values: [0.7, 0.1, 0.1, 0.1]))
    #expect(alone.values == Array(first.row(0)))
  }

  @Test func gaussianNoiseLeavesNonProbabilitiesUnnormalised() throws {
    let input = Probabilities(rows: 1, columns: 3, values: [2, -1, 0.5])
    let output = try GaussianNoise(scale: 0.1, seed: 1).process(input)
    var generator = SeededGenerator(seed: 1, stream: 0)
    let expected = input.values.map { Float(Double($0) + 0.1 * generator.gaussian()) }
    #expect(output.values == expected)
  }

  /// The largest scale keeps every value finite, on probabilities and on logits.
  @Test func theLargestScaleStaysFinite() throws {
    let noise = try GaussianNoise(scale: GaussianNoise.maximumScale, seed: 3)
    let probabilities = Probabilities(rows: 2, columns: 3, values: [0.2, 0.3, 0.5, 1, 0, 0])
    let logits = Probabilities(rows: 1, columns: 3, values: [-40, 3e4, 12])
    #expect(try noise.process(probabilities).values.allSatisfy(\.isFinite))
    #expect(try noise.process(logits).values.allSatisfy(\.isFinite))
  }

  @Test func rejectsBadParameters() {
    let cases: [(String, () throws -> Any)] = [
      (
        "high-confidence: cutoff must be a finite number > 0, got 0.0",
        {
          try HighConfidence(cutoff: 0)
        }
      ),
      (
        "reverse-sigmoid: beta must be a finite number > 0, got -1.0",
        {
          try ReverseSigmoid(beta: -1)
        }
      ),
      (
        "reverse-sigmoid: gamma must be a finite number > 0, got 0.0",
        {
          try ReverseSigmoid(gamma: 0)
        }
      ),
      ("rounded: decimals must be an integer >= 1, got 0", { try Rounded(decimals: 0) }),
      (
        "gaussian-noise: scale must be a number > 0 and <= 1000, got inf",
        {
          try GaussianNoise(scale: .infinity)
        }
      ),
      // A scale of 1e308 drew sums beyond Float and wrote NaNs.
      (
        "gaussian-noise: scale must be a number > 0 and <= 1000, got 1e+308",
        {
          try GaussianNoise(scale: 1e308)
        }
      ),
    ]
    for (message, make) in cases {
      do {
        _ = try make()
        Issue.record("accepted: \(message)")
      } catch {
        #expect("\(error)" == message)
      }
    }
  }

  @Test func decodesParametersWithDefaults() throws {
    let decoder = JSONDecoder()
    #expect(try decoder.decode(HighConfidence.self, from: Data("{}".utf8)).cutoff == 0.25)
    let sigmoid = try decoder.decode(ReverseSigmoid.self, from: Data(#"{"beta": 2}"#.utf8))
    #expect(sigmoid.beta == 2 && sigmoid.gamma == 0.1)
    #expect(try decoder.decode(Rounded.self, from: Data("{}".utf8)).decimals == 3)
    let noise = try decoder.decode(GaussianNoise.self, from: Data(#"{"seed": 4}"#.utf8))
    #expect(noise.scale == 0.2 && noise.seed == 4)
    #expect(throws: DefenseParameterError.self) {
      try decoder.decode(Rounded.self, from: Data(#"{"decimals": 0}"#.utf8))
    }
    #expect(
      [
        HighConfidence.typeName, ReverseSigmoid.typeName, Rounded.typeName, ClassLabels.typeName,
        GaussianNoise.typeName,
      ] == [
        "high-confidence", "reverse-sigmoid", "rounded", "class-labels", "gaussian-noise",
      ])
    #expect(!ClassLabels().requiresFitting)
  }
}
