import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkData

@Suite struct NPYFileTests {
  /// A version 1.0 file with a 118-byte header (data at 128), as NumPy lays it out.
  static func npy(_ literal: String, padding: Int, data: [UInt8]) -> [UInt8] {
    [0x93] + Array("NUMPY".utf8) + [1, 0, 0x76, 0] + Array(literal.utf8)
      + Array(repeating: 0x20, count: padding) + [0x0a] + data
  }

  /// Arrays and the exact bytes NumPy 2.4's `np.save` writes for them.
  static let knownFiles: [(array: NDArray, bytes: [UInt8])] = [
    (
      NDArray(shape: [2, 3], storage: .float32(Array(repeating: 0, count: 6))),
      npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", padding: 58,
        data: Array(repeating: 0, count: 24))
    ),
    (
      NDArray(shape: [], storage: .float64([1.5])),
      npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", padding: 62,
        data: [0, 0, 0, 0, 0, 0, 0xf8, 0x3f])
    ),
    (
      NDArray(shape: [3], storage: .uint8([0, 1, 2])),
      npy(
        "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }", padding: 60,
        data: [0, 1, 2])
    ),
    (
      NDArray(shape: [2], storage: .bool([true, false])),
      npy(
        "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", padding: 60,
        data: [1, 0])
    ),
    (
      NDArray(shape: [3], storage: .int64([0, 1, 2])),
      npy(
        "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", padding: 60,
        data: [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0])
    ),
    (
      NDArray(shape: [2, 1], storage: .int32([-1, 2])),
      npy(
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 1), }", padding: 58,
        data: [0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0])
    ),
  ]

  @Test(arguments: knownFiles)
  func encodesExactlyAsNumPy(array: NDArray, bytes: [UInt8]) throws {
    #expect(NPYFile.encode(array) == bytes)
    #expect(try NPYFile.decode(bytes, file: "t.npy") == array)
  }

  /// `np.save(f, np.array(['dark', 'bright', 'é']))` with NumPy 2.4: `<U6`, each string
  /// padded with zero code units to 6.
  @Test func encodesAndDecodesStringsAsNumPyDoes() throws {
    let header =
      "{'descr': '<U6', 'fortran_order': False, 'shape': (3,), }"
      + String(repeating: " ", count: 60) + "\n"
    var expected: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0, 0x76, 0] + Array(header.utf8)
    for text in ["dark", "bright", "é"] {
      let codes = text.unicodeScalars.map(\.value) + repeatElement(0, count: 6 - text.count)
      for code in codes { expected += [UInt8(code & 0xff), UInt8(code >> 8), 0, 0] }
    }
    #expect(expected.count == 200)
    let array = NDArray(shape: [3], storage: .unicode(["dark", "bright", "é"]))
    #expect(NPYFile.encode(array) == expected)
    #expect(try NPYFile.decode(expected, file: "s.npy") == array)
  }

  @Test func refusesStringsThatAreNoUnicode() {
    var bytes = NPYFile.encode(NDArray(shape: [1], storage: .unicode(["a"])))
    bytes.replaceSubrange(128..<132, with: [0x00, 0xd8, 0, 0])
    #expect(
      throws: FormatError(
        file: "s.npy", location: .offset(128), expected: "a Unicode scalar value",
        found: "0x0000d800")
    ) {
      try NPYFile.decode(bytes, file: "s.npy")
    }
  }

  @Test func roundTripsFloatBitPatterns() throws {
    let floats: [Float] = [
      -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
      Float(bitPattern: 0x7fc0_0001), Float(bitPattern: 0xffa0_0000),
    ]
    let doubles: [Double] = [-0.0, .ulpOfOne, Double(bitPattern: 0x7ff8_0000_dead_beef)]
    let array32 = NDArray(shape: [7, 1], storage: .float32(floats))
    let array64 = NDArray(shape: [3], storage: .float64(doubles))
    let decoded32 = try NPYFile.decode(NPYFile.encode(array32), file: "t")
    let decoded64 = try NPYFile.decode(NPYFile.encode(array64), file: "t")
    guard case .float32(let values32) = decoded32.storage,
      case .float64(let values64) = decoded64.storage
    else {
      Issue.record("element type changed")
      return
    }
    #expect(decoded32.shape == [7, 1])
    #expect(values32.map(\.bitPattern) == floats.map(\.bitPattern))
    #expect(values64.map(\.bitPattern) == doubles.map(\.bitPattern))
  }

  @Test func roundTripsThroughAFile() throws {
    let scratch = try ScratchFolder("NPYFileTests")
    let url = scratch.url("file.npy")
    let array = NDArray(shape: [2, 0, 3], storage: .int64([]))
    try NPYFile.write(array, to: url)
    #expect(try NPYFile.read(from: url) == array)
  }

  @Test func switchesToVersion2ForHugeHeaders() throws {
    let array = NDArray(shape: Array(repeating: 1, count: 30_000), storage: .uint8([9]))
    let bytes = NPYFile.encode(array)
    #expect(bytes[6] == 2)
    #expect((bytes.count - 1) % 64 == 0)
    #expect(try NPYFile.decode(bytes, file: "t") == array)
  }

  @Test func decodesVersions2And3() throws {
    // np.lib.format.write_array(f, np.array([1, -2], np.float32), version=(2, 0)) and (3, 0).
    let literal = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    for major: UInt8 in [2, 3] {
      let bytes =
        [0x93] + Array("NUMPY".utf8) + [major, 0, 0x74, 0, 0, 0] + Array(literal.utf8)
        + Array(repeating: 0x20, count: 58) + [0x0a, 0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]
      #expect(bytes.count == 136)
      #expect(
        try NPYFile.decode(bytes, file: "t") == NDArray(shape: [2], storage: .float32([1, -2])))
    }
  }

  static let headerVariants: [String] = [
    "{\"shape\": (2,), \"fortran_order\": False, \"descr\": \"<i4\"}",
    "{'descr':'<i4','fortran_order':False,'shape':(2,),}  \n",
    "{ 'fortran_order' : False , 'shape' : ( 2 , ) , 'descr' : '<i4' }",
    "{'descr': '<i4', 'fortran_order': True, 'shape': (2,)}",
    "{'descr': '<i4', 'fortran_order': False, 'shape': (2L,), }",
  ]

  @Test(arguments: headerVariants)
  func parsesPythonLiteralHeaders(header: String) throws {
    let bytes = Self.rawFile(header: header, data: [1, 0, 0, 0, 2, 0, 0, 0])
    #expect(try NPYFile.decode(bytes, file: "t") == NDArray(shape: [2], storage: .int32([1, 2])))
  }

  /// A version 1.0 file with `header` unpadded.
  static func rawFile(header: String, data: [UInt8]) -> [UInt8] {
    let text = Array(header.utf8)
    return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(text.count & 0xff), UInt8(text.count >> 8)]
      + text + data
  }

  static let refusals: [(header: String, data: [UInt8], error: FormatError)] = [
    (
      "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0],
      FormatError(
        file: "t", location: .field("descr"),
        expected: "one of '<f4', '<f8', '|u1', '<i4', '<i8', '|b1', '<U' and a length",
        found: "'>f4': big-endian arrays are not supported; convert with arr.astype('<f4')")
    ),
    (
      "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0, 0, 0, 0, 0],
      FormatError(
        file: "t", location: .field("descr"),
        expected: "one of '<f4', '<f8', '|u1', '<i4', '<i8', '|b1', '<U' and a length",
        found: "'|O': object arrays cannot be read: they are pickled Python objects")
    ),
    (
      "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0, 0, 0, 0, 0],
      FormatError(
        file: "t", location: .field("descr"),
        expected: "one of '<f4', '<f8', '|u1', '<i4', '<i8', '|b1', '<U' and a length",
        found: "'<c8': this element type is not supported")
    ),
    (
      "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", [0, 0, 0, 0],
      FormatError(
        file: "t", location: .field("descr"), expected: "a plain dtype such as '<f4'",
        found: "a structured dtype, which is not supported")
    ),
    (
      "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }", [0, 0, 0, 0],
      FormatError(
        file: "t", location: .field("fortran_order"), expected: "False",
        found: "True: Fortran-order arrays are not supported; save with np.ascontiguousarray")
    ),
    (
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", [0, 0, 0, 0],
      FormatError(
        file: "t", location: .offset(69), expected: "24 data bytes for shape (2, 3) of '<f4'",
        found: "4 bytes")
    ),
    (
      "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", [1, 2],
      FormatError(
        file: "t", location: .offset(68), expected: "a boolean byte 0 or 1", found: "0x02")
    ),
    (
      "{'descr': '|u1', 'fortran_order': False, 'shape': (-1,), }", [],
      FormatError(
        file: "t", location: .field("shape"), expected: "a tuple of non-negative integers",
        found: "(-1,)")
    ),
    (
      "{'descr': '|u1', 'fortran_order': False}", [],
      FormatError(
        file: "t", location: .field("shape"), expected: "the header key 'shape'",
        found: "no such key")
    ),
    (
      "{'descr': '|u1', 'fortran_order': False, 'shape': (), 'x': 1}", [0],
      FormatError(
        file: "t", location: .field("x"),
        expected: "only the keys 'descr', 'fortran_order' and 'shape'", found: "the key 'x'")
    ),
    (
      "{'descr': '|u1', 'fortran_order': false, 'shape': ()}", [0],
      FormatError(
        file: "t", location: .offset(44), expected: "a Python literal in the header",
        found: "'false'")
    ),
    (
      "{'descr': '|u1', 'fortran_order': False, 'shape': ()", [0],
      FormatError(
        file: "t", location: .offset(62), expected: "'}' in the header", found: "the end")
    ),
    (
      "{'descr': '|u1' 'fortran_order': False, 'shape': ()}", [0],
      FormatError(
        file: "t", location: .offset(26), expected: "'}' in the header", found: "'''")
    ),
    (
      "{'descr': '|u1', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 10_000),
      [0],
      FormatError(
        file: "t", location: .offset(76),
        expected: "at most 16 nested tuples or lists in the header", found: "more")
    ),
  ]

  @Test(arguments: refusals)
  func refusesWhatItCannotRead(header: String, data: [UInt8], error: FormatError) {
    #expect(throws: error) {
      try NPYFile.decode(Self.rawFile(header: header, data: data), file: "t")
    }
  }

  /// Control bytes a header holds are escaped in messages, never sent to the terminal raw.
  @Test func escapesControlBytesOfTheHeaderInMessages() {
    let header = "{'descr': '\u{1B}[2J<f4\r', 'fortran_order': False, 'shape': (1,), }"
    let error = #expect(throws: FormatError.self) {
      try NPYFile.decode(Self.rawFile(header: header, data: [0, 0, 0, 0]), file: "t\u{7}.npy")
    }
    let message = error?.description ?? ""
    #expect(message.hasPrefix("t\\x07.npy: field 'descr': "))
    #expect(message.contains("'\\x1B[2J<f4\\r'"))
    #expect(!message.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f })
  }

  @Test func refusesBadPreambles() {
    let valid = Self.knownFiles[2].bytes
    var magic = valid
    magic[1] = 0x4d
    #expect(
      throws: FormatError(
        file: "t", location: .offset(0), expected: "the .npy magic string \\x93NUMPY",
        found: "0x93 0x4d 0x55 0x4d 0x50 0x59")
    ) {
      try NPYFile.decode(magic, file: "t")
    }
    var version = valid
    version[6] = 4
    #expect(
      throws: FormatError(
        file: "t", location: .offset(6), expected: "format version 1.0, 2.0 or 3.0", found: "4.0")
    ) {
      try NPYFile.decode(version, file: "t")
    }
    #expect(
      throws: FormatError(
        file: "t", location: .offset(60), expected: "a header of 118 bytes",
        found: "the end of the file")
    ) {
      try NPYFile.decode(Array(valid[..<60]), file: "t")
    }
    #expect(throws: FormatError.self) { try NPYFile.decode(Array(valid[..<9]), file: "t") }
  }
}
