import BulwarkCore
import Foundation
import Testing

@testable import BulwarkDefenses

/// The vectorised float32 kernels behind `ReverseSigmoid` and `Rounded`: against the formulas
/// computed plainly, on edge values, and the run-time variants against each other bit for bit.
@Suite struct PostprocessingKernelTests {
  /// Rows spanning many orders of magnitude, with a certain row, a uniform row, an all-zero row
  /// and a row with values below the lower clip; 7 columns, so that rows straddle vector steps.
  static let table: Probabilities = {
    var generator = SeededGenerator(seed: 4)
    let columns = 7
    var values: [Float] = []
    for _ in 0..<45 {
      let row = (0..<columns).map { _ in Float(Foundation.exp(generator.unitDouble() * 24 - 12)) }
      let total = row.reduce(0, +)
      values += row.map { $0 / total }
    }
    values += [1, 0, 0, 0, 0, 0, 0]
    values += [Float](repeating: 1 / 7, count: 7)
    values += [Float](repeating: 0, count: 7)
    values += [1e-12, 2e-9, 0.5, 0.4999, 1e-30, 0.0001, 3e-10]
    return Probabilities(rows: 49, columns: columns, values: values)
  }()

  /// ART's formula in double precision, from the single-precision clip (the reference the
  /// polynomials are held to).
  static func reverseSigmoid(_ table: Probabilities, beta: Double, gamma: Double) -> [Float] {
    var result: [Float] = []
    for row in 0..<table.rows {
      let q = table.row(row).map { value -> Double in
        let clipped = Double(min(max(value, Float(1e-9)), 1))
        let sigmoid = 1 / (1 + Foundation.pow((1 - clipped) / clipped, gamma))
        return min(max(Double(value) - beta * (sigmoid - 0.5), 0), 1)
      }
      let sum = q.reduce(0, +)
      result += q.map { sum > 0 ? Float($0 / sum) : 0 }
    }
    return result
  }

  @Test(arguments: [(1.0, 0.1), (0.5, 0.01), (2, 1), (1, 3), (0.3, 10), (0.2, 100)])
  func reverseSigmoidFollowsTheFormula(beta: Double, gamma: Double) throws {
    let output = try ReverseSigmoid(beta: beta, gamma: gamma).process(Self.table)
    let expected = Self.reverseSigmoid(Self.table, beta: beta, gamma: gamma)
    let worst = zip(output.values, expected).map { abs($0 - $1) }.max() ?? 0
    #expect(worst < 3e-7, "largest difference \(worst)")
    for row in 0..<output.rows {
      #expect(abs(output.row(row).reduce(0, +) - 1) < 1e-6)
    }
  }

  /// A NaN spreads over its row only, in a block of eight rows and in the rows after the blocks.
  @Test func reverseSigmoidPropagatesNaNAsNumPy() throws {
    var values = [Float](repeating: 0.1, count: 10 * 10)
    values[2 * 10 + 4] = .nan
    values[9 * 10] = .nan
    let output = try ReverseSigmoid().process(Probabilities(rows: 10, columns: 10, values: values))
    for row in 0..<10 {
      #expect(output.row(row).allSatisfy { [2, 9].contains(row) ? $0.isNaN : $0 == 0.1 })
    }
  }

  /// Eight rows are renormalised at once, one per lane, their sums read eight columns at a time
  /// through a transposition where the rows are wide enough: each row keeps the bits it gets
  /// alone (a single row is summed value by value). Rows of 7 columns take no transposition,
  /// rows of 19 take two and three columns lane by lane.
  @Test(arguments: [7, 19])
  func rowsKeepTheirBitsWhateverTheirNeighbours(columns: Int) throws {
    let sigmoid = try ReverseSigmoid(beta: 0.7, gamma: 0.3)
    let table =
      columns == Self.table.columns
      ? Self.table
      : Probabilities.softmaxLike(rows: 21, columns: columns, seed: 9)
    let whole = sigmoid.process(table).values.map(\.bitPattern)
    let alone = (0..<table.rows).flatMap { row in
      sigmoid.process(Probabilities(rows: 1, columns: columns, values: Array(table.row(row))))
        .values.map(\.bitPattern)
    }
    #expect(whole == alone)
  }

  /// Every integer quotient the rounding can meet at 1 to 5 decimals, ties and the values just
  /// beside them, negative zeros, large values, infinities and NaN, in a whole block and in the
  /// last steps: the same bits as a plain multiply, round half to even and divide.
  @Test(arguments: 1...5)
  func roundedDividesExactly(decimals: Int) throws {
    let scale = Float(Foundation.pow(10, Double(decimals)))
    let limit = Int(scale)
    let special: [Float] = [
      -0.0, -1e-7, 3e30, -7e12, 16_777_218, .infinity, -.infinity, .nan, .leastNonzeroMagnitude,
    ]
    // The special values open the first block of 256 (which the kernel must then redo with its
    // NaN mask) and close the table (its last steps, always masked).
    var values = special
    for k in -limit...limit {
      let tie = (Float(k) + 0.5) / scale
      values += [Float(k) / scale, tie, tie.nextUp, tie.nextDown]
    }
    values += special
    let output = try Rounded(decimals: decimals).process(
      Probabilities(rows: 1, columns: values.count, values: values))
    for (value, rounded) in zip(values, output.values) {
      let expected = (value * scale).rounded(.toNearestOrEven) / scale
      #expect(
        rounded.bitPattern == expected.bitPattern || (rounded.isNaN && expected.isNaN),
        "\(value) rounded to \(rounded), expected \(expected)")
    }
  }

  @Test func variantsGiveTheSameBits() throws {
    let sigmoid = try ReverseSigmoid(beta: 0.7, gamma: 0.3)
    let rounded = try Rounded(decimals: 2)
    let native = sigmoid.process(Self.table, portable: false)
    #expect(
      native.values.map(\.bitPattern)
        == sigmoid.process(Self.table, portable: true).values.map(\.bitPattern))
    #expect(
      rounded.process(Self.table, portable: false).values.map(\.bitPattern)
        == rounded.process(Self.table, portable: true).values.map(\.bitPattern))
  }
}
