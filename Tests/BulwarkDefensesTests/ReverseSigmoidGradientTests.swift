import Testing

@testable import BulwarkDefenses

/// The reverse sigmoid's backward pass against central finite differences of `Σ r · output`,
/// and a case where it is flat (clipped outputs).
@Suite struct ReverseSigmoidGradientTests {
  @Test func backwardMatchesFiniteDifferences() throws {
    let defense = try ReverseSigmoid(beta: 0.4, gamma: 0.3)
    let input = Probabilities(
      rows: 2, columns: 3, values: [0.2, 0.5, 0.3, 0.05, 0.15, 0.8])
    let weights: [Float] = [1, -0.5, 0.25, -1, 0.75, 0.5]
    func objective(_ table: Probabilities) -> Double {
      zip(defense.process(table).values, weights).reduce(0) { $0 + Double($1.0 * $1.1) }
    }
    let analytic = defense.backward(gradient: weights, input: input)
    #expect(analytic.count == input.values.count)
    let step: Float = 1e-3
    for index in input.values.indices {
      var plus = input
      plus.values[index] += step
      var minus = input
      minus.values[index] -= step
      let numeric = (objective(plus) - objective(minus)) / Double(2 * step)
      #expect(
        abs(Double(analytic[index]) - numeric) < 2e-3, "value \(index): \(analytic) \(numeric)")
    }
    #expect(analytic.contains { abs($0) > 0.05 })
  }

  @Test func clippedValuesGetNoGradient() throws {
    // beta 3 on a certain row: 1 - 3/2 clips to 0 and 0 + 3/2 clips to 1, so the output stays
    // [0, 1] under any small change.
    let defense = try ReverseSigmoid(beta: 3, gamma: 1)
    let input = Probabilities(rows: 1, columns: 2, values: [1, 0])
    #expect(defense.process(input).values == [0, 1])
    #expect(defense.backward(gradient: [1, -2], input: input) == [0, 0])
  }
}
