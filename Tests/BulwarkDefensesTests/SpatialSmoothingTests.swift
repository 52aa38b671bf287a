import BulwarkCore
import BulwarkData
import Testing

@testable import BulwarkDefenses

@Suite struct SpatialSmoothingTests {
  /// A straightforward median filter: gather the window through scipy's reflect mapping, sort,
  /// take position k*k/2.
  static func referenceMedian(_ batch: ImageBatch, window k: Int) -> [Float] {
    let shape = batch.shape
    var result = batch.pixels
    func reflect(_ index: Int, _ count: Int) -> Int {
      var folded = index % (2 * count)
      if folded < 0 { folded += 2 * count }
      return folded < count ? folded : 2 * count - 1 - folded
    }
    for image in 0..<batch.count {
      let base = image * shape.valueCount
      for y in 0..<shape.height {
        for x in 0..<shape.width {
          for c in 0..<shape.channels {
            var values = [Float]()
            for dy in -(k / 2)...(k - 1 - k / 2) {
              for dx in -(k / 2)...(k - 1 - k / 2) {
                let yy = reflect(y + dy, shape.height)
                let xx = reflect(x + dx, shape.width)
                values.append(batch.pixels[base + (yy * shape.width + xx) * shape.channels + c])
              }
            }
            values.sort()
            result[base + (y * shape.width + x) * shape.channels + c] = values[k * k / 2]
          }
        }
      }
    }
    return result
  }

  static func randomBatch(
    count: Int, height: Int, width: Int, channels: Int, seed: UInt64, levels: Int = 0
  ) -> ImageBatch {
    var generator = SeededGenerator(seed: seed)
    let shape = ImageShape(height: height, width: width, channels: channels)
    let pixels = (0..<(count * shape.valueCount)).map { _ -> Float in
      // A few levels make ties common; otherwise all values differ.
      levels > 0
        ? Float(generator.uniformInt(below: levels)) / Float(levels - 1)
        : Float(generator.unitDouble())
    }
    return ImageBatch(shape: shape, pixels: pixels, labels: [Int](repeating: 0, count: count))
  }

  @Test func smoothsTheKnownTwoByTwoCase() throws {
    let batch = ImageBatch(
      shape: ImageShape(height: 2, width: 2, channels: 1), pixels: [1, 2, 3, 4], labels: [0])
    #expect(try SpatialSmoothing(window: 2).process(batch).pixels == [1, 2, 3, 3])
  }

  /// Expected values from `scipy.ndimage.median_filter(x, size=(1, k, k, 1), mode="reflect")`.
  @Test(
    arguments: [
      (2, [5, 5, 7, 7, 5, 5, 7, 7, 6, 6, 9, 10]),
      (4, [5, 5, 5, 7, 5, 5, 5, 7, 5, 6, 6, 8]),
      (5, [5, 5, 5, 7, 5, 5, 6, 7, 5, 6, 7, 8]),
      (7, [6, 6, 6, 6, 5, 5, 6, 6, 5, 5, 5, 5]),
    ] as [(Int, [Float])])
  func matchesScipyOnASmallImage(window: Int, expected: [Float]) throws {
    let batch = ImageBatch(
      shape: ImageShape(height: 3, width: 4, channels: 1),
      pixels: [5, 1, 7, 3, 2, 9, 4, 8, 6, 0, 11, 10], labels: [0])
    #expect(try SpatialSmoothing(window: window).process(batch).pixels == expected)
  }

  @Test(arguments: 1...9)
  func leavesConstantImagesUnchanged(window: Int) throws {
    let shape = ImageShape(height: 5, width: 6, channels: 3)
    let batch = ImageBatch(
      shape: shape, pixels: [Float](repeating: 0.375, count: 2 * shape.valueCount),
      labels: [0, 0])
    #expect(try SpatialSmoothing(window: window).process(batch).pixels == batch.pixels)
  }

  @Test(arguments: 1...9)
  func equalsTheReferenceMedianOnRandomImages(window: Int) throws {
    let filter = try SpatialSmoothing(window: window)
    let cases = [(3, 28, 28, 1), (2, 5, 17, 3), (2, 3, 2, 1), (1, 1, 4, 2), (2, 33, 19, 1)]
    for (index, (count, height, width, channels)) in cases.enumerated() {
      for levels in [0, 3] {
        let batch = Self.randomBatch(
          count: count, height: height, width: width, channels: channels,
          seed: UInt64(window * 100 + index), levels: levels)
        #expect(filter.process(batch).pixels == Self.referenceMedian(batch, window: window))
      }
    }
  }

  @Test func selectsPerPixelForWindowsBeyondTheNetwork() throws {
    let filter = try SpatialSmoothing(window: 11)
    #expect(filter.network == nil)
    let batch = Self.randomBatch(count: 1, height: 13, width: 7, channels: 2, seed: 11)
    #expect(filter.process(batch).pixels == Self.referenceMedian(batch, window: 11))
  }

  @Test func givesTheSameResultOnOneAndTwoThreads() throws {
    var filter = try SpatialSmoothing(window: 3)
    let batch = Self.randomBatch(count: 70, height: 12, width: 10, channels: 1, seed: 5)
    filter.threadCount = 1
    let single = filter.process(batch)
    filter.threadCount = 2
    #expect(filter.process(batch) == single)
    #expect(single.labels == batch.labels)
  }

  @Test func clipsToTheGivenRange() throws {
    let batch = ImageBatch(
      shape: ImageShape(height: 1, width: 3, channels: 1), pixels: [-1, 0.5, 2], labels: [0])
    let filter = try SpatialSmoothing(window: 1, clipRange: ValueRange(0, 1))
    #expect(filter.process(batch).pixels == [0, 0.5, 1])
  }

  @Test func rejectsBadParameters() {
    let error = #expect(throws: DefenseParameterError.self) { try SpatialSmoothing(window: 0) }
    #expect(error?.description == "spatial-smoothing: window must be an integer in 1...255, got 0")
    // A window of 100,000 tried to allocate 40 GB; the largest accepted is 255.
    let huge = #expect(throws: DefenseParameterError.self) {
      try SpatialSmoothing(window: 100_000)
    }
    #expect(huge?.description.hasSuffix("got 100000") == true)
    #expect((try? SpatialSmoothing(window: 255))?.window == 255)
    #expect(throws: DefenseParameterError.self) {
      try SpatialSmoothing(window: 3, clipRange: ValueRange(1, 0))
    }
  }
}
