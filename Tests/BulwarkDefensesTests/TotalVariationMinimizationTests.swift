import BulwarkCore
import BulwarkData
import Testing

@testable import BulwarkDefenses

@Suite struct TotalVariationMinimizationTests {
  /// Runs `body` with an objective on `original` and `mask` (both row-major, side x side).
  static func withObjective<Result>(
    side: Int, norm: Int, lambda: Float = 0.5, original: [Float], mask: [Float],
    _ body: (inout TotalVariationObjective) -> Result
  ) -> Result {
    let x = UnsafeMutablePointer<Float>.allocate(capacity: original.count)
    let m = UnsafeMutablePointer<Float>.allocate(capacity: mask.count)
    let norms = UnsafeMutablePointer<Float>.allocate(capacity: side)
    let steps = UnsafeMutablePointer<Float>.allocate(capacity: side)
    defer {
      for buffer in [x, m, norms, steps] { buffer.deallocate() }
    }
    x.initialize(from: original, count: original.count)
    m.initialize(from: mask, count: mask.count)
    var objective = TotalVariationObjective(
      height: side, width: side, norm: norm, lambda: lambda, original: x, mask: m,
      columnNorms: norms, rowSteps: steps)
    return body(&objective)
  }

  /// A noisy ramp (noise from an integer LCG, so Python computes the same doubles) and a fixed
  /// mask; the same image and mask were given to ART's objective and scipy while developing.
  static func noisyImage(side: Int) -> (original: [Float], mask: [Float]) {
    var original = [Float]()
    var mask = [Float]()
    for i in 0..<side {
      for j in 0..<side {
        let index = i * side + j
        let uniform = Double((index * 1_103_515_245 + 12345) % 2_147_483_648) / 2_147_483_648
        let value = Double(i + j) / (2.0 * Double(side)) + 0.4 * (uniform - 0.5)
        original.append(Float(min(1, max(0, value))))
        mask.append((i * 5 + j * 3) % 10 < 3 ? 1 : 0)
      }
    }
    return (original, mask)
  }

  @Test(arguments: [1, 2])
  func gradientMatchesCentralDifferences(norm: Int) {
    var generator = SeededGenerator(seed: UInt64(norm))
    let side = 6
    let original = (0..<(side * side)).map { _ in Float(generator.unitDouble()) }
    let mask = (0..<(side * side)).map { _ in generator.unitDouble() < 0.5 ? Float(1) : 0 }
    let point = (0..<(side * side)).map { _ in Float(generator.unitDouble()) }
    Self.withObjective(side: side, norm: norm, original: original, mask: mask) { objective in
      var gradient = [Float](repeating: 0, count: side * side)
      var scratch = gradient
      _ = objective.evaluate(at: point, gradient: &gradient)
      let h: Float = 1e-3
      for index in 0..<point.count {
        var plus = point
        var minus = point
        plus[index] += h
        minus[index] -= h
        let difference =
          (objective.evaluate(at: plus, gradient: &scratch)
            - objective.evaluate(at: minus, gradient: &scratch)) / (2 * h)
        #expect(abs(difference - gradient[index]) < 2e-3, "component \(index)")
      }
    }
  }

  @Test func usesZeroSubgradientsAtKinks() {
    // At z = x with a constant image every term sits at its kink.
    let original = [Float](repeating: 0.5, count: 9)
    let mask = [Float](repeating: 1, count: 9)
    Self.withObjective(side: 3, norm: 2, original: original, mask: mask) { objective in
      var gradient = [Float](repeating: 1, count: 9)
      #expect(objective.evaluate(at: original, gradient: &gradient) == 0)
      #expect(gradient == [Float](repeating: 0, count: 9))
    }
  }

  /// ART's objective after its 10 L-BFGS-B iterations with its gradient (scipy 1.17.1, from
  /// z0 = x, no bounds), on `noisyImage`; the true gradient must do better.
  @Test(arguments: [
    (12, 1, 4.994856975328885), (12, 2, 1.8890795734585915),
    (28, 1, 14.063464935097935), (28, 2, 4.000221561819368),
  ])
  func reachesALowerObjectiveThanART(side: Int, norm: Int, artObjective: Float) {
    let (original, mask) = Self.noisyImage(side: side)
    Self.withObjective(side: side, norm: norm, original: original, mask: mask) { objective in
      var gradient = original
      let start = objective.evaluate(at: original, gradient: &gradient)
      let solver = BoundedLBFGS(variableCount: side * side, lower: 0, upper: 1)
      defer { solver.deallocate() }
      var solution = original
      let reached = solver.minimize(&objective, from: original, into: &solution, iterations: 10)
      #expect(reached < (norm == 2 ? artObjective : artObjective * 1.02))
      #expect(reached < start)
      #expect(objective.evaluate(at: solution, gradient: &gradient) == reached)
      #expect(solution.allSatisfy { $0 >= 0 && $0 <= 1 })
    }
  }

  @Test func decreasesTheObjectiveWithMoreIterations() {
    let (original, mask) = Self.noisyImage(side: 12)
    Self.withObjective(side: 12, norm: 2, original: original, mask: mask) { objective in
      let solver = BoundedLBFGS(variableCount: 144, lower: 0, upper: 1)
      defer { solver.deallocate() }
      var solution = original
      // The objective where the solver starts: every run must end below it.
      var gradient = [Float](repeating: 0, count: 144)
      var previous = objective.evaluate(at: original, gradient: &gradient)
      #expect(previous.isFinite && previous > 0)
      for iterations in [1, 3, 10, 30] {
        let reached = solver.minimize(
          &objective, from: original, into: &solution, iterations: iterations)
        #expect(reached <= previous, "\(iterations) iterations")
        #expect(iterations > 1 || reached < previous, "one iteration must improve the start")
        previous = reached
      }
    }
  }

  @Test func keepsResultsInTheClipRangeWhateverTheThreadCount() throws {
    let batch = SpatialSmoothingTests.randomBatch(
      count: 5, height: 9, width: 8, channels: 3, seed: 3)
    var defense = try TotalVariationMinimization(clipValues: ValueRange(0.1, 0.9), seed: 4)
    defense.threadCount = 1
    let single = defense.process(batch)
    defense.threadCount = 2
    #expect(defense.process(batch) == single)
    #expect(single.pixels.allSatisfy { $0 >= 0.1 && $0 <= 0.9 })
    #expect(single.pixels != batch.pixels)
    #expect(defense.isRandomized)
    let other = try TotalVariationMinimization(clipValues: ValueRange(0.1, 0.9), seed: 5)
    #expect(other.process(batch) != single)
  }

  @Test func rejectsBadParameters() {
    let cases: [(() throws -> TotalVariationMinimization, String)] = [
      ({ try TotalVariationMinimization(keepProbability: 1.5) }, "keepProbability"),
      ({ try TotalVariationMinimization(norm: 3) }, "norm"),
      ({ try TotalVariationMinimization(lambda: -1) }, "lambda"),
      ({ try TotalVariationMinimization(maxIterations: 0) }, "maxIterations"),
      ({ try TotalVariationMinimization(clipValues: ValueRange(1, 1)) }, "clipValues"),
    ]
    for (make, parameter) in cases {
      do {
        _ = try make()
        Issue.record("\(parameter) accepted")
      } catch let error as DefenseParameterError {
        #expect(error.stage == "total-variation-minimization")
        #expect(error.parameter == parameter)
      } catch {
        Issue.record("unexpected \(error)")
      }
    }
    #expect(throws: DefenseParameterError.self) { try TotalVariationMinimization(norm: 3) }
  }
}

@Suite struct ReseedingTests {
  private let batch = ImageBatch(
    shape: ImageShape(height: 8, width: 8, channels: 1),
    pixels: (0..<64).map { Float(($0 * 37) % 64) / 63 }, labels: [0])

  @Test func everyPassDrawsItsOwnMasksReproducibly() throws {
    let defense = try TotalVariationMinimization(keepProbability: 0.5, seed: 3)
    let first = try defense.reseeded(pass: 0).process(batch)
    let second = try defense.reseeded(pass: 1).process(batch)
    let unseeded = defense.process(batch)
    let again = try defense.reseeded(pass: 1).process(batch)
    #expect(first == unseeded)
    #expect(second != first)
    #expect(second == again)
    let chain = PreprocessorChain([try SpatialSmoothing(window: 2), defense])
    #expect(try chain.reseeded(pass: 1).process(batch) != (try chain.process(batch)))
  }

  @Test func deterministicDefensesIgnoreThePass() throws {
    let smoothing = try SpatialSmoothing(window: 3)
    let reseeded = try smoothing.reseeded(pass: 5).process(batch)
    #expect(reseeded == smoothing.process(batch))
  }
}
