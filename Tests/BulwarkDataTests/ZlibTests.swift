import Testing

@testable import BulwarkData

@Suite struct ZlibTests {
  /// Two gzip members made by Python's `gzip` (mtime 0): "hello\n" with the file name `a.txt`,
  /// then "world\n" without one.
  static let twoMembers: [UInt8] = [
    0x1f, 0x8b, 0x08, 0x08, 0x00, 0x00, 0x00, 0x00, 0x02, 0xff, 0x61, 0x2e, 0x74, 0x78, 0x74, 0x00,
    0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0xe7, 0x02, 0x00, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00,
    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0x2b, 0xcf, 0x2f, 0xca, 0x49, 0xe1,
    0x02, 0x00, 0xa8, 0x61, 0x38, 0xdd, 0x06, 0x00, 0x00, 0x00,
  ]

  /// A compressible but irregular test payload.
  static func payload(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 * $0) / 7 + $0 / 300) }
  }

  /// A gzip member around raw deflate data, as `gzip` writes it without optional fields.
  static func gzip(_ data: [UInt8]) -> [UInt8] {
    var bytes: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3] + Zlib.deflateRaw(data)
    bytes.appendLittleEndian(Zlib.crc32(data))
    bytes.appendLittleEndian(UInt32(truncatingIfNeeded: data.count))
    return bytes
  }

  @Test func crc32MatchesTheCheckValue() {
    #expect(Zlib.crc32(Array("123456789".utf8)) == 0xcbf4_3926)
    #expect(Zlib.crc32([]) == 0)
    let whole = Self.payload(1000)
    let first = Zlib.crc32(Array(whole[..<300]))
    #expect(Zlib.crc32(Array(whole[300...]), continuing: first) == Zlib.crc32(whole))
  }

  @Test func detectsGzipMagic() {
    #expect(Zlib.isGzip(Self.twoMembers))
    #expect(!Zlib.isGzip([0x1f]))
    #expect(!Zlib.isGzip([0, 0, 8, 3]))
  }

  @Test(arguments: [0, 1, 100, 70_000])
  func deflateThenInflateRoundTrips(count: Int) throws {
    let data = Self.payload(count)
    for level in [0, 1, 6, 9] {
      let compressed = Zlib.deflateRaw(data, level: level)
      let restored = try Zlib.inflateRaw(
        compressed, expectedSize: count, file: "t.zip", member: "m")
      #expect(restored == data)
    }
  }

  @Test func gunzipsConcatenatedMembersWithFileName() throws {
    #expect(try Zlib.gunzip(Self.twoMembers, file: "t.gz") == Array("hello\nworld\n".utf8))
  }

  @Test func gunzipGrowsBeyondAnUnderstatedSize() throws {
    // The last member's length field sizes the buffer; the first member is far larger.
    let big = Self.payload(300_000)
    let bytes = Self.gzip(big) + Self.gzip([1, 2, 3])
    #expect(try Zlib.gunzip(bytes, file: "t.gz") == big + [1, 2, 3])
  }

  @Test func gunzipRefusesEveryTruncation() {
    let bytes = Self.twoMembers
    for length in [0, 1, 5, 12, 18, 24, 29, 33, 45, 57] {
      #expect(throws: FormatError.self) {
        try Zlib.gunzip(Array(bytes[..<length]), file: "t.gz")
      }
    }
  }

  @Test func gunzipNamesTheOffsetOfABadChecksum() {
    var bytes = Self.twoMembers
    bytes[24] ^= 0xff  // the first member's CRC-32
    #expect(
      throws: FormatError(
        file: "t.gz", location: .offset(24), expected: "CRC-32 0x363a30df",
        found: "0x363a3020 computed from the decompressed data")
    ) {
      try Zlib.gunzip(bytes, file: "t.gz")
    }
  }

  @Test func gunzipRefusesABadLengthField() {
    var bytes = Self.twoMembers
    bytes[28] = 7
    #expect(
      throws: FormatError(
        file: "t.gz", location: .offset(28), expected: "decompressed length 7 (mod 2^32)",
        found: "6")
    ) {
      try Zlib.gunzip(bytes, file: "t.gz")
    }
  }

  @Test func gunzipRefusesCorruptDeflateData() throws {
    var bytes = Self.gzip(Self.payload(5000))
    bytes[10] = 0xff  // block type 3 is reserved
    let error = try #require(throws: FormatError.self) { try Zlib.gunzip(bytes, file: "t.gz") }
    #expect(error.file == "t.gz")
    #expect(error.expected == "valid deflate data")
    #expect(error.found.contains("invalid block type"))
  }

  @Test func gunzipRefusesOtherFilesAndTrailingBytes() {
    #expect(
      throws: FormatError(
        file: "t.gz", location: .offset(0), expected: "gzip magic 1f 8b", found: "0x00 0x00")
    ) {
      try Zlib.gunzip([0, 0, 8, 1], file: "t.gz")
    }
    #expect(
      throws: FormatError(
        file: "t.gz", location: .offset(58),
        expected: "another gzip member (1f 8b) or the end of the file", found: "2 trailing bytes")
    ) {
      try Zlib.gunzip(Self.twoMembers + [0, 0], file: "t.gz")
    }
    var method = Self.twoMembers
    method[2] = 7
    #expect(throws: FormatError.self) { try Zlib.gunzip(method, file: "t.gz") }
  }

  @Test func inflateRawRefusesAnotherLength() throws {
    let data = Self.payload(1000)
    let compressed = Zlib.deflateRaw(data)
    for size in [999, 1001] {
      #expect(throws: FormatError.self) {
        try Zlib.inflateRaw(compressed, expectedSize: size, file: "a.npz", member: "x.npy")
      }
    }
    #expect(
      throws: FormatError(
        file: "a.npz", location: .field("x.npy"), expected: "the rest of the deflate data",
        found: "the end of the data after 20 compressed bytes")
    ) {
      try Zlib.inflateRaw(
        Array(compressed[..<20]), expectedSize: 1000, file: "a.npz", member: "x.npy")
    }
  }

  @Test func inflateRawRefusesAnImpossibleExpansion() {
    #expect(
      throws: FormatError(
        file: "a.npz", location: .field("x.npy"),
        expected: "at most 11344 bytes from 10 compressed bytes",
        found: "a declared size of 1000000000 bytes")
    ) {
      try Zlib.inflateRaw(
        Array(repeating: 0, count: 10), expectedSize: 1_000_000_000, file: "a.npz",
        member: "x.npy")
    }
  }
}
