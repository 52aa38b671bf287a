import Testing

@testable import BulwarkBoosting

@Suite struct FeatureBinningTests {
  let kZ = LightGBMConstants.zeroThreshold

  @Test func cutsFewDistinctValuesBetweenNeighbours() {
    let b = FeatureBinning(column: [1, 1, 1, 2, 2, 2, 3, 3, 3], maxBin: 255, minDataInLeaf: 1)
    #expect(b.upperBounds == [kZ, (1.5 as Double).nextUp, (2.5 as Double).nextUp, .infinity])
    #expect(b.missingType == .none)
    #expect(b.isUsed)
    #expect(b.minValue == 1 && b.maxValue == 3)
    #expect([0.0, 1, 1.5, 2, 3, 7].map(b.bin(of:)) == [0, 1, 1, 2, 3, 3])
  }

  @Test func endsNegativeOnlyFeaturesWithTheZeroBin() {
    let b = FeatureBinning(
      column: [-3, -3, -3, -2, -2, -2, -1, -1, -1, 0, 0, 0], maxBin: 255, minDataInLeaf: 1)
    #expect(b.upperBounds == [(-2.5 as Double).nextUp, (-1.5 as Double).nextUp, -kZ, .infinity])
    #expect(b.minValue == -3 && b.maxValue == 0)
    #expect(b.bin(of: 0) == 3)
    #expect(b.bin(of: -1) == 2)
  }

  @Test func givesNaNABinOfItsOwn() {
    let b = FeatureBinning(
      column: [1, 1, 1, 2, 2, 2, .nan, .nan, .nan], maxBin: 255, minDataInLeaf: 1)
    #expect(b.missingType == .nan)
    #expect(b.upperBounds.count == 4)
    #expect(Array(b.upperBounds.prefix(3)) == [kZ, (1.5 as Double).nextUp, .infinity])
    #expect(b.bin(of: .nan) == 3)
    #expect(b.bin(of: 2) == 2)
  }

  @Test func treatsNaNAsZeroWithoutANaNBin() {
    let b = FeatureBinning(column: [-1, -1, -1, 1, 1, 1], maxBin: 255, minDataInLeaf: 1)
    #expect(b.bin(of: .nan) == b.bin(of: 0))
  }

  @Test(arguments: [
    [7.0, 7, 7, 7],  // constant: no cut has rows on both sides
    [0.0, 0, 0, 0],  // all zeros: one bin
  ])
  func marksTrivialFeaturesUnused(column: [Double]) {
    #expect(!FeatureBinning(column: column, maxBin: 255, minDataInLeaf: 1).isUsed)
  }

  @Test func marksFeaturesUnusedWhenNoCutKeepsMinDataInLeaf() {
    let column = [1.0, 1, 1, 2, 2, 2, 2, 2, 2, 2]
    #expect(FeatureBinning(column: column, maxBin: 255, minDataInLeaf: 3).isUsed)
    #expect(!FeatureBinning(column: column, maxBin: 255, minDataInLeaf: 4).isUsed)
  }

  @Test func mergesValuesWithinOneULP() {
    let b = FeatureBinning(
      column: [1, (1.0 as Double).nextUp, 1, 2, 2, 2], maxBin: 255, minDataInLeaf: 1)
    #expect(b.upperBounds == [kZ, (((1.0 as Double).nextUp + 2) / 2).nextUp, .infinity])
    #expect(b.minValue == (1.0 as Double).nextUp)
  }

  @Test func spreadsManyDistinctValuesEvenly() {
    let column = (1...1000).map(Double.init)
    let b = FeatureBinning(column: column, maxBin: 10, minDataInLeaf: 1)
    #expect(b.upperBounds.count == 10)
    #expect(b.upperBounds.first == kZ && b.upperBounds.last == .infinity)
    var counts = [Int](repeating: 0, count: b.binCount)
    for v in column { counts[b.bin(of: v)] += 1 }
    #expect(counts[0] == 0)
    #expect(counts.dropFirst().allSatisfy { (100...125).contains($0) })
  }

  @Test func givesABigValueABinOfItsOwn() {
    let column = (1...300).map(Double.init) + [Double](repeating: 150.5, count: 500)
    let b = FeatureBinning(column: column, maxBin: 10, minDataInLeaf: 1)
    let big = b.bin(of: 150.5)
    #expect(b.bin(of: 150) < big && big < b.bin(of: 151))
  }
}
