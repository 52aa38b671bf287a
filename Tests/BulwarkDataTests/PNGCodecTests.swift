import Testing

@testable import BulwarkData

@Suite struct PNGCodecTests {
  // Files written with Python's zlib and struct, not by libpng: chunks by hand, filter 0 rows.

  /// 3x2, 8-bit palette (red, green, blue, (10, 20, 30)), indices [0 1 2; 3 2 1].
  static let paletteFile: [UInt8] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x03, 0x00, 0x00, 0x00, 0xaa,
    0xaa, 0x96, 0x28, 0x00, 0x00, 0x00, 0x0c, 0x50, 0x4c, 0x54, 0x45, 0xff, 0x00, 0x00, 0x00,
    0xff, 0x00, 0x00, 0x00, 0xff, 0x0a, 0x14, 0x1e, 0x22, 0x88, 0x29, 0x04, 0x00, 0x00, 0x00,
    0x10, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60, 0x60, 0x64, 0x62, 0x60, 0x66, 0x62,
    0x04, 0x00, 0x00, 0x26, 0x00, 0x0a, 0xf3, 0x1d, 0xa6, 0xf6, 0x00, 0x00, 0x00, 0x00, 0x49,
    0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
  ]

  /// The same palette file with a tRNS chunk: entry 0 transparent, entry 1 alpha 128.
  static let paletteWithTransparencyFile: [UInt8] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x03, 0x00, 0x00, 0x00, 0xaa,
    0xaa, 0x96, 0x28, 0x00, 0x00, 0x00, 0x0c, 0x50, 0x4c, 0x54, 0x45, 0xff, 0x00, 0x00, 0x00,
    0xff, 0x00, 0x00, 0x00, 0xff, 0x0a, 0x14, 0x1e, 0x22, 0x88, 0x29, 0x04, 0x00, 0x00, 0x00,
    0x02, 0x74, 0x52, 0x4e, 0x53, 0x00, 0x80, 0x9b, 0x2b, 0x4e, 0x18, 0x00, 0x00, 0x00, 0x10,
    0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60, 0x60, 0x64, 0x62, 0x60, 0x66, 0x62, 0x04,
    0x00, 0x00, 0x26, 0x00, 0x0a, 0xf3, 0x1d, 0xa6, 0xf6, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
  ]

  /// 2x2, 16-bit grey: [0 65535; 25700 32768].
  static let grey16File: [UInt8] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02, 0x10, 0x00, 0x00, 0x00, 0x00, 0x07,
    0x4d, 0x8e, 0xbb, 0x00, 0x00, 0x00, 0x12, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x60,
    0x60, 0xf8, 0xff, 0x9f, 0x21, 0x25, 0xa5, 0x81, 0x01, 0x00, 0x10, 0xb9, 0x03, 0x47, 0x05,
    0x4c, 0x66, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
  ]

  /// 2x1, 16-bit RGBA: (65535, 0, 1799, 65535), (32896, 128, 51400, 0).
  static let rgba16File: [UInt8] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x10, 0x06, 0x00, 0x00, 0x00, 0xa4,
    0xb2, 0xa3, 0xc9, 0x00, 0x00, 0x00, 0x19, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8,
    0xff, 0x9f, 0x81, 0x81, 0x9d, 0xfd, 0xff, 0xff, 0x86, 0x06, 0x86, 0x86, 0x13, 0x27, 0x18,
    0x18, 0x00, 0x41, 0xf8, 0x07, 0x1b, 0xff, 0x4c, 0xd4, 0xcd, 0x00, 0x00, 0x00, 0x00, 0x49,
    0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
  ]

  /// 3x2, 1-bit grey: [1 0 1; 0 1 0].
  static let grey1BitFile: [UInt8] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00, 0xb5,
    0x0f, 0x5b, 0xb7, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x58,
    0xc0, 0xe0, 0x00, 0x00, 0x02, 0x24, 0x00, 0xe1, 0x4d, 0x16, 0xe8, 0x5e, 0x00, 0x00, 0x00,
    0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
  ]

  /// A valid header for a 900,000 x 900,000 grey image, followed by a small IDAT chunk.
  static let hugeHeaderFile: [UInt8] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
    0x52, 0x00, 0x0d, 0xbb, 0xa0, 0x00, 0x0d, 0xbb, 0xa0, 0x08, 0x00, 0x00, 0x00, 0x00, 0xf5,
    0xd6, 0xce, 0x53, 0x00, 0x00, 0x00, 0x0b, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60,
    0x40, 0x05, 0x00, 0x00, 0x10, 0x00, 0x01, 0x39, 0xbd, 0x8f, 0x65,
  ]

  /// Pseudo-random bytes from a fixed linear congruential generator.
  static func noise(count: Int, seed: UInt32) -> [UInt8] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 1_664_525 &+ 1_013_904_223
      return UInt8(state >> 24)
    }
  }

  @Test(arguments: 1...4)
  func roundTripIsExact(channels: Int) throws {
    let image = Bitmap(
      width: 7, height: 5, channels: channels,
      bytes: Self.noise(count: 35 * channels, seed: UInt32(channels)))
    let stream = try PNGCodec.encode(image)
    #expect(Array(stream.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    #expect(try PNGCodec.decode(stream) == image)
  }

  @Test func retriesWithTheSizeLibpngAsksForWhenTheBufferIsTooSmall() throws {
    let image = Bitmap(width: 16, height: 16, channels: 3, bytes: Self.noise(count: 768, seed: 5))
    guard case .needs(let size) = PNGCodec.write(image, capacity: 64) else {
      Issue.record("a 64-byte buffer should be too small")
      return
    }
    guard case .written(let stream) = PNGCodec.write(image, capacity: size) else {
      Issue.record("the size libpng asked for should suffice")
      return
    }
    #expect(stream == (try PNGCodec.encode(image)))
    #expect(try PNGCodec.decode(stream) == image)
  }

  @Test func keepsColourUnderFullyTransparentPixels() throws {
    let image = Bitmap(width: 2, height: 1, channels: 4, bytes: [200, 100, 50, 0, 1, 2, 3, 0])
    #expect(try PNGCodec.decode(PNGCodec.encode(image)) == image)
  }

  @Test func decodesPaletteToRGB() throws {
    let image = try PNGCodec.decode(Self.paletteFile)
    let expected: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 0, 0, 255, 0, 255, 0]
    #expect(image == Bitmap(width: 3, height: 2, channels: 3, bytes: expected))
  }

  @Test func decodesPaletteWithTransparencyToRGBA() throws {
    let image = try PNGCodec.decode(Self.paletteWithTransparencyFile)
    let expected: [UInt8] = [
      255, 0, 0, 0, 0, 255, 0, 128, 0, 0, 255, 255,
      10, 20, 30, 255, 0, 0, 255, 255, 0, 255, 0, 128,
    ]
    #expect(image == Bitmap(width: 3, height: 2, channels: 4, bytes: expected))
  }

  @Test func scalesSixteenBitGreyToEightBits() throws {
    // 25700 = 100 * 257; 32768 / 257 = 127.5 rounds up.
    let image = try PNGCodec.decode(Self.grey16File)
    #expect(image == Bitmap(width: 2, height: 2, channels: 1, bytes: [0, 255, 100, 128]))
  }

  @Test func scalesSixteenBitRGBAWithoutPremultiplying() throws {
    let image = try PNGCodec.decode(Self.rgba16File)
    #expect(
      image == Bitmap(width: 2, height: 1, channels: 4, bytes: [255, 0, 7, 255, 128, 0, 200, 0]))
  }

  @Test func expandsOneBitGrey() throws {
    let image = try PNGCodec.decode(Self.grey1BitFile)
    #expect(image == Bitmap(width: 3, height: 2, channels: 1, bytes: [255, 0, 255, 0, 255, 0]))
  }

  @Test func throwsOnEmptyInput() {
    #expect(throws: PNGError(operation: .decoding, message: "expected a PNG stream, found 0 bytes"))
    {
      try PNGCodec.decode([])
    }
  }

  @Test func throwsOnGarbage() {
    let error = #expect(throws: PNGError.self) {
      try PNGCodec.decode(Self.noise(count: 300, seed: 9))
    }
    #expect(error?.description == "PNG decoding failed: Not a PNG file")
    // Garbage behind a valid signature gets past the signature check.
    let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    #expect(throws: PNGError.self) {
      try PNGCodec.decode(signature + Self.noise(count: 300, seed: 9))
    }
  }

  @Test(arguments: [8, 20, 40, -14])
  func throwsOnTruncatedStream(cut: Int) throws {
    let stream = try PNGCodec.encode(
      Bitmap(width: 16, height: 16, channels: 3, bytes: Self.noise(count: 768, seed: 3)))
    // The final IEND chunk (12 bytes) is optional to libpng; -14 cuts into IDAT's checksum.
    let kept = cut >= 0 ? cut : stream.count + cut
    #expect(throws: PNGError.self) { try PNGCodec.decode(Array(stream.prefix(kept))) }
  }

  @Test func throwsOnCorruptChecksums() {
    var header = Self.paletteFile
    header[30] ^= 0x01  // IHDR's CRC
    #expect(throws: PNGError(operation: .decoding, message: "IHDR: CRC error")) {
      try PNGCodec.decode(header)
    }
    var data = Self.paletteFile
    data[data.count - 14] ^= 0x01  // IDAT's CRC
    #expect(throws: PNGError(operation: .decoding, message: "IDAT: CRC error")) {
      try PNGCodec.decode(data)
    }
  }

  @Test func refusesImagesAboveThePixelLimitBeforeAllocating() throws {
    let error = try #require(throws: PNGError.self) { try PNGCodec.decode(Self.hugeHeaderFile) }
    #expect(error.message.contains("900000x900000"), "\(error)")
  }

  /// A stream whose header claims `width x height` 8-bit RGBA pixels, with valid checksums, a
  /// text chunk of `padding` bytes and two compressed bytes of image data.
  static func forgedHeaderFile(width: UInt32, height: UInt32, padding: Int = 0) -> [UInt8] {
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
      let body = Array(type.utf8) + data
      return bigEndian(UInt32(data.count)) + body + bigEndian(Zlib.crc32(body))
    }
    func bigEndian(_ value: UInt32) -> [UInt8] {
      (0..<4).map { UInt8(value >> (24 - 8 * $0) & 0xff) }
    }
    let header = bigEndian(width) + bigEndian(height) + [8, 6, 0, 0, 0]
    let text =
      padding > 0
      ? chunk("tEXt", Array("Comment\0".utf8) + Array(repeating: 0x41, count: padding)) : []
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + text
      + chunk("IDAT", [0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01])
      + chunk("IEND", [])
  }

  /// 100 million pixels are within the pixel limit, but no 67-byte file holds their rows: the
  /// header is refused before 400 MB are allocated (a fuzzer found the allocation).
  @Test func refusesAHeaderTheFileCannotHold() throws {
    let file = Self.forgedHeaderFile(width: 10_000, height: 10_000)
    let error = try #require(throws: PNGError.self) { try PNGCodec.decode(file) }
    #expect(error.message.contains("10000x10000 pixels needs at least 12510000 bytes"), "\(error)")
    // The same forgery at a size the file could hold gets as far as libpng's own checks.
    let small = try #require(throws: PNGError.self) {
      try PNGCodec.decode(Self.forgedHeaderFile(width: 200, height: 200))
    }
    #expect(!small.message.contains("bytes of rows"), "\(small)")
  }

  /// A file long enough for deflate to hold 4100x4100 RGBA rows, whose compressed data
  /// inflates to two bytes: refused from what the data holds, not from what the header claims.
  @Test func refusesALargeImageItsDataCannotFill() throws {
    let file = Self.forgedHeaderFile(width: 4_100, height: 4_100, padding: 3_000)
    let error = try #require(throws: PNGError.self) { try PNGCodec.decode(file) }
    #expect(
      error.message.contains(
        "needs at least 67240000 bytes of image data, but the file's IDAT "
          + "chunks inflate to only 2"), "\(error)")
  }

  /// A real image above the checked size decodes (its data spans many IDAT chunks, and inflates
  /// faster than the count's scratch buffer drains); the same file cut after its second IDAT
  /// chunk is refused by the count, and cut inside a chunk by the chunk walk, before libpng
  /// allocates anything.
  @Test func decodesALargeImageAndRefusesItTruncated() throws {
    let width = 2_400
    let height = 2_400
    let bytes = (0..<width * height * 3).map { UInt8(truncatingIfNeeded: $0 / 7_919) }
    let image = Bitmap(width: width, height: height, channels: 3, bytes: bytes)
    let file = try PNGCodec.encode(image)
    #expect(try PNGCodec.decode(file) == image)
    let chunks = try PNGCodec.imageDataRanges(in: file)
    #expect(chunks.count > 2)
    let cut = try #require(throws: PNGError.self) {
      try PNGCodec.decode(Array(file[..<(chunks[1].upperBound + 4)]))
    }
    #expect(cut.message.contains("IDAT chunks inflate to only"), "\(cut)")
    let halved = try #require(throws: PNGError.self) {
      try PNGCodec.decode(Array(file[..<(chunks[1].upperBound - 10)]))
    }
    #expect(halved.message.contains("chunk 'IDAT' at byte"), "\(halved)")
  }

  /// libpng allocates a chunk's declared length before reading it (a fuzzer found a 2 GB
  /// allocation from a text chunk's length): a length past the end of the file is refused first.
  @Test func refusesAChunkLongerThanTheFile() throws {
    let image = Bitmap(width: 3, height: 2, channels: 1, bytes: [0, 1, 2, 3, 4, 5])
    let file = try PNGCodec.encode(image)
    // After the signature and IHDR (8 + 25 bytes): a tEXt chunk claiming 2,000,000,000 bytes.
    let forged: [UInt8] =
      Array(file[..<33]) + [0x77, 0x35, 0x94, 0x00] + Array("tEXt".utf8) + [0x41, 0x00, 0x41]
      + Array(file[33...])
    let error = try #require(throws: PNGError.self) { try PNGCodec.decode(forged) }
    #expect(
      error.message
        == "chunk 'tEXt' at byte 33 declares 2000000000 bytes of data, but the file has "
        + "\(forged.count - 45) left for it: a truncated file or a corrupt length")
    // Bytes after IEND are not read, whatever they hold.
    #expect(try PNGCodec.decode(file + [0xff, 0xff, 0xff, 0xff, 0x00]) == image)
  }

  @Test func refusesABitmapWhoseBytesDoNotFit() {
    var image = Bitmap(width: 2, height: 2, channels: 2, bytes: [1, 2, 3, 4, 5, 6, 7, 8])
    image.bytes.append(9)
    #expect(throws: PNGError.self) { try PNGCodec.encode(image) }
  }
}
