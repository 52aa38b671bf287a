import BulwarkData
import Foundation
import Testing

@testable import BulwarkDefenses

@Suite struct JPEGCompressionTests {
  /// A smooth gradient with some texture, NHWC in [0, 1].
  func gradient(count: Int, side: Int, channels: Int) -> ImageBatch {
    let shape = ImageShape(height: side, width: side, channels: channels)
    var pixels: [Float] = []
    for image in 0..<count {
      for y in 0..<side {
        for x in 0..<side {
          for channel in 0..<channels {
            let value = Float((x * 7 + y * 3 + channel * 40 + image * 11) % 256) / 255
            pixels.append(value)
          }
        }
      }
    }
    return ImageBatch(shape: shape, pixels: pixels, labels: Array(repeating: 0, count: count))
  }

  @Test(arguments: [1, 2, 3, 4])
  func putsOutputsOnTheByteGrid(channels: Int) throws {
    let batch = gradient(count: 3, side: 16, channels: channels)
    let output = try JPEGCompression(quality: 30).process(batch)
    #expect(output.shape == batch.shape)
    #expect(output.pixels != batch.pixels)
    for value in output.pixels {
      let level = (value * 255).rounded()
      #expect(Float(Double(level) / 255) == value)
    }
  }

  @Test func keepsAConstantWhiteImage() throws {
    let batch = ImageBatch(
      shape: ImageShape(height: 8, width: 8, channels: 1),
      pixels: [Float](repeating: 1, count: 64), labels: [0])
    #expect(try JPEGCompression(quality: 50).process(batch).pixels == batch.pixels)
  }

  @Test func roundsAndClipsInsteadOfTruncating() throws {
    // 0.9999 truncates to 254 in ART; rounding gives 255, and 1.2 clips to 255 (ART wraps).
    let batch = ImageBatch(
      shape: ImageShape(height: 8, width: 8, channels: 1),
      pixels: (0..<64).map { $0 % 2 == 0 ? 0.9999 : 1.2 }, labels: [0])
    #expect(try JPEGCompression(quality: 95).process(batch).pixels.allSatisfy { $0 == 1 })
  }

  @Test(arguments: [0, 101, -5])
  func rejectsQualityOutOfRange(quality: Int) {
    #expect(
      throws: DefenseParameterError(
        stage: "jpeg-compression", parameter: "quality", expected: "an integer in 1...100",
        found: "\(quality)")
    ) { try JPEGCompression(quality: quality) }
  }

  @Test func rejectsOtherValueRanges() {
    #expect(throws: DefenseParameterError.self) {
      try JPEGCompression(clipValues: ValueRange(0, 2))
    }
  }

  @Test func encodesRGBTogetherAndOtherCountsPerChannel() throws {
    let rgb = gradient(count: 1, side: 16, channels: 3)
    let defense = try JPEGCompression(quality: 20)
    let together = try defense.process(rgb).pixels
    // Encoding each channel as its own grey image differs from YCbCr 4:2:0 encoding.
    var perChannel = [Float](repeating: 0, count: rgb.pixels.count)
    for channel in 0..<3 {
      let plane = ImageBatch(
        shape: ImageShape(height: 16, width: 16, channels: 1),
        pixels: stride(from: channel, to: rgb.pixels.count, by: 3).map { rgb.pixels[$0] },
        labels: [0])
      for (index, value) in try defense.process(plane).pixels.enumerated() {
        perChannel[index * 3 + channel] = value
      }
    }
    #expect(together != perChannel)
    // Four channels take the per-channel path: channel 0..2 of a 4-channel image equal the
    // grey round trips of those planes.
    let four = gradient(count: 1, side: 16, channels: 4)
    let fourOut = try defense.process(four).pixels
    let plane0 = ImageBatch(
      shape: ImageShape(height: 16, width: 16, channels: 1),
      pixels: stride(from: 0, to: four.pixels.count, by: 4).map { four.pixels[$0] }, labels: [0])
    #expect(
      stride(from: 0, to: fourOut.count, by: 4).map { fourOut[$0] }
        == (try defense.process(plane0).pixels))
  }

  @Test func givesTheSameResultOnAnyThreadCount() throws {
    let batch = gradient(count: 37, side: 12, channels: 3)
    var one = try JPEGCompression(quality: 50)
    one.threadCount = 1
    var four = one
    four.threadCount = 4
    #expect(try one.process(batch) == four.process(batch))
  }

  @Test func decodesFromAStage() throws {
    let defense = try JSONDecoder().decode(
      JPEGCompression.self, from: Data(#"{"quality": 75, "clipValues": [0, 255]}"#.utf8))
    #expect(defense.quality == 75)
    #expect(defense.clipValues == ValueRange(0, 255))
  }
}
