import Testing

@testable import BulwarkBoosting

@Suite struct BenchmarkTests {
  @Test func timesAFitOnSyntheticData() throws {
    let p = BoostingParameters(numLeaves: 4, rounds: 2, threads: 1)
    let (seconds, model) = try BoostedTrees.benchmark(rows: 200, columns: 3, parameters: p)
    #expect(seconds > 0)
    #expect(model.iterationCount == 2 && model.classes == 3)
  }
}
