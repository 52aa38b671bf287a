import Foundation
import Testing

@testable import BulwarkData

@Suite struct JPEGCodecTests {
  /// An 8x8 grey ramp: 16 per row, 8 per column.
  static let gradient = Bitmap(
    width: 8, height: 8, channels: 1,
    bytes: (0..<64).map { (index: Int) -> UInt8 in UInt8(index / 8 * 16 + index % 8 * 8) })

  /// The ramp in red, its inverse in green, three times it modulo 256 in blue.
  static let colourGradient = Bitmap(
    width: 8, height: 8, channels: 3,
    bytes: gradient.bytes.flatMap { (red: UInt8) -> [UInt8] in
      [red, 255 - red, UInt8(Int(red) * 3 % 256)]
    })

  /// Pillow 13.0 (its own libjpeg-turbo): `Image.open(BytesIO(jpeg)).getdata()` of the gradient
  /// saved with `quality=50`.
  static let gradientAtQuality50: [UInt8] = [
    3, 9, 19, 27, 33, 41, 50, 57, 15, 22, 31, 39, 46, 54, 63, 70,
    33, 40, 49, 57, 64, 72, 81, 88, 50, 56, 66, 73, 80, 88, 97, 104,
    64, 71, 80, 88, 95, 102, 112, 118, 80, 87, 96, 104, 111, 119, 128, 135,
    98, 105, 114, 122, 129, 137, 146, 153, 111, 118, 127, 135, 141, 149, 159, 165,
  ]

  /// The same for the colour gradient (4:2:0, Pillow's default), first two rows.
  static let colourGradientAtQuality50FirstRows: [UInt8] = [
    10, 243, 56, 13, 240, 63, 18, 233, 80, 25, 226, 98, 36, 217, 120, 45, 211, 139, 57, 204,
    152, 62, 201, 160, 14, 227, 75, 18, 227, 84, 29, 225, 101, 40, 222, 121, 49, 216, 138, 58,
    208, 147, 66, 199, 152, 69, 196, 155,
  ]

  /// A smooth deterministic image, the kind JPEG is made for.
  static func smoothImage(width: Int, height: Int, channels: Int) -> Bitmap {
    var bytes: [UInt8] = []
    for y in 0..<height {
      for x in 0..<width {
        for c in 0..<channels {
          let value =
            128 + 60 * sin(Double(x) / 4 + Double(c)) + 40 * cos(Double(y) / 5 - Double(c))
          bytes.append(UInt8(value.rounded()))
        }
      }
    }
    return Bitmap(width: width, height: height, channels: channels, bytes: bytes)
  }

  static func fixture(_ name: String) throws -> [UInt8] {
    let url = try #require(
      Bundle.module.url(forResource: name, withExtension: "jpg", subdirectory: "Fixtures"))
    return [UInt8](try Data(contentsOf: url))
  }

  /// The segment that starts with `marker` (after its length field), walking the headers.
  static func segment(_ marker: UInt8, in stream: [UInt8]) -> ArraySlice<UInt8>? {
    var offset = 2
    while offset + 4 <= stream.count, stream[offset] == 0xFF {
      let kind = stream[offset + 1]
      let length = Int(stream[offset + 2]) << 8 | Int(stream[offset + 3])
      if kind == marker { return stream[(offset + 4)..<min(offset + 2 + length, stream.count)] }
      if kind == 0xDA { return nil }  // start of scan: the headers are over
      offset += 2 + length
    }
    return nil
  }

  @Test(arguments: [1, 3])
  func roundTripKeepsSizeAndStaysClose(channels: Int) throws {
    let image = Self.smoothImage(width: 28, height: 28, channels: channels)
    let decoded = try JPEGCodec.roundTrip(image, quality: 90)
    #expect(decoded.width == 28 && decoded.height == 28 && decoded.channels == channels)
    #expect(decoded.bytes.count == image.bytes.count)
    let totalError = zip(image.bytes, decoded.bytes).reduce(0) { $0 + abs(Int($1.0) - Int($1.1)) }
    let meanError = Double(totalError) / Double(image.bytes.count)
    #expect(meanError < 2, "mean absolute error \(meanError)")
    #expect(decoded != image, "JPEG at quality 90 is lossy on this image")
  }

  @Test(arguments: [1, 3])
  func roundTripEqualsDecodingTheEncodedStream(channels: Int) throws {
    let image = Self.smoothImage(width: 17, height: 11, channels: channels)
    let stream = try JPEGCodec.encode(image, quality: 75)
    #expect(try JPEGCodec.decode(stream) == JPEGCodec.roundTrip(image, quality: 75))
  }

  @Test func roundTripCanWriteOverItsInput() throws {
    let image = Self.smoothImage(width: 28, height: 28, channels: 1)
    var pixels = image.bytes
    pixels.withUnsafeMutableBufferPointer { buffer in
      #expect(throws: Never.self) {
        try JPEGCodec.roundTrip(
          UnsafeBufferPointer(buffer), width: 28, height: 28, channels: 1, quality: 50,
          into: buffer)
      }
    }
    #expect(pixels == (try JPEGCodec.roundTrip(image, quality: 50)).bytes)
  }

  @Test(arguments: [1, 3], [16, 28])
  func constantWhiteSurvivesExactly(channels: Int, side: Int) throws {
    let count = side * side * channels
    let white = Bitmap(
      width: side, height: side, channels: channels, bytes: [UInt8](repeating: 255, count: count))
    #expect(try JPEGCodec.roundTrip(white, quality: 50) == white)
  }

  @Test func encodesColourAsBaselineWithChromaHalvedBothWays() throws {
    let stream = try JPEGCodec.encode(
      Self.smoothImage(width: 28, height: 28, channels: 3), quality: 50)
    #expect(Array(stream.prefix(2)) == [0xFF, 0xD8])
    let frame = try #require(Self.segment(0xC0, in: stream), "no baseline SOF0 header")
    #expect(Self.segment(0xC2, in: stream) == nil, "progressive SOF2 header")
    // precision, height, width, component count, then (id, sampling, table) per component
    let fields = Array(frame)
    #expect(fields[0] == 8 && fields[5] == 3)
    #expect([fields[7], fields[10], fields[13]] == [0x22, 0x11, 0x11])
  }

  @Test func encodesGreyAsOneBaselineComponent() throws {
    let stream = try JPEGCodec.encode(Self.gradient, quality: 50)
    let frame = Array(try #require(Self.segment(0xC0, in: stream)))
    #expect(frame[5] == 1 && frame[7] == 0x11)
  }

  @Test func lowerQualityGivesSmallerFiles() throws {
    let image = Self.smoothImage(width: 28, height: 28, channels: 3)
    let sizes = try [10, 50, 90].map { try JPEGCodec.encode(image, quality: $0).count }
    #expect(sizes[0] < sizes[1] && sizes[1] < sizes[2], "sizes \(sizes)")
  }

  @Test(arguments: [
    ("pillow-gradient-grey-q50", gradient), ("pillow-gradient-rgb-q50", colourGradient),
  ])
  func encodesTheSameBytesAsPillow(fixture: String, image: Bitmap) throws {
    #expect(try JPEGCodec.encode(image, quality: 50) == Self.fixture(fixture))
  }

  @Test func decodesLikePillow() throws {
    let grey = try JPEGCodec.decode(Self.fixture("pillow-gradient-grey-q50"))
    #expect(grey == Bitmap(width: 8, height: 8, channels: 1, bytes: Self.gradientAtQuality50))
    let colour = try JPEGCodec.decode(Self.fixture("pillow-gradient-rgb-q50"))
    #expect(colour.width == 8 && colour.height == 8 && colour.channels == 3)
    #expect(Array(colour.bytes.prefix(48)) == Self.colourGradientAtQuality50FirstRows)
    #expect(try JPEGCodec.roundTrip(Self.colourGradient, quality: 50) == colour)
    #expect(try JPEGCodec.roundTrip(Self.gradient, quality: 50) == grey)
  }

  @Test func decodesProgressiveStreams() throws {
    let progressive = try Self.fixture("pillow-gradient-grey-q50-progressive")
    #expect(Self.segment(0xC2, in: progressive) != nil)
    #expect(try JPEGCodec.decode(progressive).bytes == Self.gradientAtQuality50)
  }

  @Test func refusesQualityOutsideOneToHundred() {
    for quality in [0, 101, -5] {
      #expect(
        throws: JPEGError(
          operation: .encoding, message: "quality must be in 1...100, found \(quality)")
      ) {
        try JPEGCodec.encode(Self.gradient, quality: quality)
      }
      #expect(throws: JPEGError.self) { try JPEGCodec.roundTrip(Self.gradient, quality: quality) }
    }
  }

  @Test(arguments: [2, 4])
  func refusesChannelCountsOtherThanOneAndThree(channels: Int) {
    let image = Self.smoothImage(width: 4, height: 4, channels: channels)
    #expect(throws: JPEGError.self) { try JPEGCodec.encode(image, quality: 50) }
    #expect(throws: JPEGError.self) { try JPEGCodec.roundTrip(image, quality: 50) }
  }

  @Test func refusesABitmapWhoseBytesDoNotFit() {
    var image = Self.gradient
    image.bytes.removeLast()
    #expect(throws: JPEGError.self) { try JPEGCodec.encode(image, quality: 50) }
  }

  @Test func throwsOnEmptyInput() {
    #expect(throws: JPEGError.self) { try JPEGCodec.decode([]) }
  }

  @Test func throwsOnGarbage() {
    var state: UInt32 = 12345
    let garbage = (0..<500).map { _ -> UInt8 in
      state = state &* 1_664_525 &+ 1_013_904_223
      return UInt8(state >> 24)
    }
    #expect(throws: JPEGError.self) { try JPEGCodec.decode(garbage) }
    // Garbage behind a valid start-of-image marker gets past the signature check.
    #expect(throws: JPEGError.self) { try JPEGCodec.decode([0xFF, 0xD8] + garbage) }
  }

  @Test(arguments: [0.25, 0.5, 0.9])
  func throwsOnTruncatedStream(fraction: Double) throws {
    let stream = try JPEGCodec.encode(
      Self.smoothImage(width: 28, height: 28, channels: 3), quality: 90)
    let cut = Array(stream.prefix(Int(Double(stream.count) * fraction)))
    #expect(throws: JPEGError.self) { try JPEGCodec.decode(cut) }
  }

  @Test func throwsOnCorruptScanData() throws {
    var stream = try JPEGCodec.encode(
      Self.smoothImage(width: 28, height: 28, channels: 1), quality: 90)
    let scan = try #require(Self.segment(0xDA, in: stream)).endIndex
    // A restart marker the stream never announced, in the middle of the entropy-coded data.
    stream.replaceSubrange((scan + 20)..<(scan + 22), with: [0xFF, 0xD3])
    #expect(throws: JPEGError.self) { try JPEGCodec.decode(stream) }
  }

  @Test func throwsOnCorruptHeader() throws {
    var stream = try Self.fixture("pillow-gradient-grey-q50")
    let frame = try #require(Self.segment(0xC0, in: stream))
    stream[frame.startIndex] = 12  // 12-bit samples, which this libjpeg does not decode
    #expect(throws: JPEGError.self) { try JPEGCodec.decode(stream) }
  }

  @Test func refusesImagesAboveThePixelLimitBeforeAllocating() throws {
    var stream = try Self.fixture("pillow-gradient-grey-q50")
    let frame = try #require(Self.segment(0xC0, in: stream)).startIndex
    stream.replaceSubrange((frame + 1)..<(frame + 5), with: [0xFD, 0xE8, 0xFD, 0xE8])
    let error = try #require(throws: JPEGError.self) { try JPEGCodec.decode(stream) }
    #expect(error.operation == .decoding)
    #expect(error.message.contains("65000x65000"), "\(error)")
  }

  @Test func describesTheFailedOperationAndLibjpegsReason() throws {
    let error = try #require(throws: JPEGError.self) { try JPEGCodec.decode([0x89, 0x50, 0x4E]) }
    #expect(error.description == "JPEG decoding failed: Not a JPEG file: starts with 0x89 0x50")
  }
}
