import Testing

@testable import BulwarkCore

@Suite struct StratifiedSamplerTests {
  @Test func largestRemaindersBreakTiesTowardLowerClasses() {
    #expect(StratifiedSampler.apportion(10, among: [50, 30, 20]) == [5, 3, 2])
    #expect(StratifiedSampler.apportion(1, among: [10, 10, 10]) == [1, 0, 0])
    #expect(StratifiedSampler.apportion(2, among: [10, 10, 10]) == [1, 1, 0])
    #expect(StratifiedSampler.apportion(7, among: [3, 3, 1]) == [3, 3, 1])
  }

  @Test func drawsEachClassUniformlyFromItsSeed() {
    let labels = [0, 0, 0, 0, 1, 1, 1, 1]
    let sample = StratifiedSampler.sample(labels: labels, count: 4, seed: 3)
    #expect(sample.count == 4 && sample == sample.sorted())
    #expect(sample.filter { labels[$0] == 0 }.count == 2)
    #expect(StratifiedSampler.sample(labels: labels, count: 4, seed: 3) == sample)
  }
}
