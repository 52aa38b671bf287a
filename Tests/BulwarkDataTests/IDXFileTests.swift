import BulwarkCore
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkData

@Suite struct IDXFileTests {
  /// A 2 x 3 unsigned-byte IDX file built by hand.
  static let bytes2x3: [UInt8] = [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 250, 0, 255]

  @Test func decodesUnsignedBytes() throws {
    let array = try IDXFile.decode(Self.bytes2x3, file: "t.idx")
    #expect(array == NDArray(shape: [2, 3], storage: .uint8([1, 2, 3, 250, 0, 255])))
  }

  @Test func decodesBigEndianValues() throws {
    let ints: [UInt8] = [0, 0, 0x0c, 1, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xfe, 0, 0, 1, 0]
    #expect(try IDXFile.decode(ints, file: "t") == NDArray(shape: [2], storage: .int32([-2, 256])))
    let shorts: [UInt8] = [0, 0, 0x0b, 1, 0, 0, 0, 2, 0x80, 0x00, 0x01, 0x02]
    #expect(
      try IDXFile.decode(shorts, file: "t")
        == NDArray(shape: [2], storage: .int32([-32768, 258])))
    let signed: [UInt8] = [0, 0, 0x09, 1, 0, 0, 0, 2, 0xff, 0x7f]
    #expect(
      try IDXFile.decode(signed, file: "t") == NDArray(shape: [2], storage: .int32([-1, 127])))
    let floats: [UInt8] = [0, 0, 0x0d, 1, 0, 0, 0, 2, 0x3f, 0xc0, 0, 0, 0xc0, 0x20, 0, 0]
    #expect(
      try IDXFile.decode(floats, file: "t")
        == NDArray(shape: [2], storage: .float32([1.5, -2.5])))
    let doubles: [UInt8] = [0, 0, 0x0e, 0, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18]
    #expect(
      try IDXFile.decode(doubles, file: "t")
        == NDArray(shape: [], storage: .float64([3.141592653589793])))
  }

  /// A small gzip whose IDX header says 2 x 3 bytes but whose data inflates to 64 MiB is
  /// refused after the 18 bytes the header allows, not after inflating it all.
  @Test func inflatesNoMoreThanTheHeaderSays() throws {
    let scratch = try ScratchFolder("IDXFileTests")
    let file = scratch.url("bomb.idx.gz")
    let bloated = Array(Self.bytes2x3.prefix(12)) + [UInt8](repeating: 0, count: 64 << 20)
    let compressed = ZlibTests.gzip(bloated)
    #expect(compressed.count < 128 << 10)
    try Data(compressed).write(to: file)
    let error = #expect(throws: FormatError.self) { try IDXFile.read(from: file) }
    #expect(error?.expected == "at most 18 decompressed bytes")
  }

  @Test func readsGzippedAndRawFiles() throws {
    let scratch = try ScratchFolder("IDXFileTests")
    let directory = scratch.url
    let raw = directory.appendingPathComponent("t.idx")
    let gzipped = directory.appendingPathComponent("t.idx.gz")
    try Data(Self.bytes2x3).write(to: raw)
    try Data(ZlibTests.gzip(Self.bytes2x3)).write(to: gzipped)
    let expected = try IDXFile.decode(Self.bytes2x3, file: "t")
    #expect(try IDXFile.read(from: raw) == expected)
    #expect(try IDXFile.read(from: gzipped) == expected)
  }

  @Test func reportsAMissingFile() {
    let url = URL(fileURLWithPath: "/nonexistent/bulwark/t.idx")
    #expect(
      throws: FileAccessError(
        path: url.path, operation: .read, reason: "no such folder '/nonexistent/bulwark'")
    ) {
      try IDXFile.read(from: url)
    }
  }

  static let corruptions: [(bytes: [UInt8], error: FormatError)] = [
    (
      [0, 1, 8, 1, 0, 0, 0, 1, 0],
      FormatError(
        file: "t", location: .offset(0), expected: "IDX magic number starting 00 00",
        found: "0x00 0x01")
    ),
    (
      [0, 0, 0x0a, 1, 0, 0, 0, 1, 0],
      FormatError(
        file: "t", location: .offset(2),
        expected: "an IDX data type (0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)",
        found: "0x0a")
    ),
    (
      [0, 0, 8],
      FormatError(
        file: "t", location: .whole, expected: "at least the 4-byte IDX magic number",
        found: "3 bytes")
    ),
    (
      [0, 0, 8, 2, 0, 0, 0, 2, 0, 0],
      FormatError(
        file: "t", location: .offset(10),
        expected: "2 big-endian dimension sizes (12 header bytes)", found: "the end of the file")
    ),
    (
      Array(bytes2x3.dropLast()),
      FormatError(
        file: "t", location: .offset(12),
        expected: "6 data bytes for 2 x 3 unsigned byte values",
        found: "5 bytes after the header")
    ),
    (
      bytes2x3 + [0],
      FormatError(
        file: "t", location: .offset(12),
        expected: "6 data bytes for 2 x 3 unsigned byte values",
        found: "7 bytes after the header")
    ),
    (
      [0, 0, 0x0e, 3] + Array(repeating: 0xff, count: 12),
      FormatError(
        file: "t", location: .offset(16),
        expected: "dimensions 4294967295 x 4294967295 x 4294967295 whose size fits in memory",
        found: "0 bytes after the header")
    ),
  ]

  @Test(arguments: corruptions)
  func refusesMalformedFiles(bytes: [UInt8], error: FormatError) {
    #expect(throws: error) { try IDXFile.decode(bytes, file: "t") }
  }
}
