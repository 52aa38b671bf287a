import Testing

@testable import BulwarkCore
@testable import BulwarkData

@Suite struct StratifiedSamplingTests {
  /// 100 images: class 0 has 50, class 1 has 30, class 2 has 20; each pixel is its index.
  private let batch: ImageBatch = {
    let labels =
      Array(repeating: 0, count: 50) + Array(repeating: 1, count: 30)
      + Array(repeating: 2, count: 20)
    return ImageBatch(
      shape: ImageShape(height: 1, width: 1, channels: 1),
      pixels: (0..<100).map { Float($0) / 100 }, labels: labels)
  }()

  @Test(arguments: [10, 33, 1, 99])
  func keepsEachClassShare(count: Int) {
    let indices = batch.stratifiedSampleIndices(count: count, seed: 1)
    #expect(indices.count == count)
    #expect(Set(indices).count == count)
    #expect(indices == indices.sorted())
    let sample = batch.selecting(indices)
    let expected = StratifiedSampler.apportion(count, among: [50, 30, 20])
    #expect(sample.classCounts == expected)
    for (label, share) in expected.enumerated() {
      #expect(abs(Double(share) - Double(count) * [0.5, 0.3, 0.2][label]) < 1)
    }
  }

  @Test func sameSeedSameSampleOtherSeedOtherSample() {
    let first = batch.stratifiedSampleIndices(count: 20, seed: 9)
    #expect(batch.stratifiedSampleIndices(count: 20, seed: 9) == first)
    #expect(batch.stratifiedSampleIndices(count: 20, seed: 10) != first)
  }

  @Test func askingForAtLeastEverythingReturnsEverything() {
    #expect(batch.stratifiedSampleIndices(count: 100, seed: 0) == Array(0..<100))
    #expect(batch.stratifiedSampleIndices(count: 500, seed: 0) == Array(0..<100))
    #expect(batch.stratifiedSample(count: 0, seed: 0).count == 0)
  }
}
