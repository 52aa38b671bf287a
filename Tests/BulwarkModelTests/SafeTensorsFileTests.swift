import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkModel

/// A safetensors file from a header's text and the data buffer, with the header length given
/// explicitly when a case needs it wrong.
private func file(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
  file(Array(header.utf8), data: data, length: length)
}

private func file(_ header: [UInt8], data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
  var bytes: [UInt8] = []
  withUnsafeBytes(of: (length ?? UInt64(header.count)).littleEndian) {
    bytes.append(contentsOf: $0)
  }
  return bytes + header + data
}

/// One F32 tensor entry `name` of `shape` covering `[begin, end)`.
private func entry(_ name: String, _ shape: String, _ begin: Int, _ end: Int) -> String {
  "\"\(name)\":{\"dtype\":\"F32\",\"shape\":\(shape),\"data_offsets\":[\(begin),\(end)]}"
}

/// A file the reader must reject, where, and with which expectation.
struct MalformedCase: Sendable, CustomTestStringConvertible {
  let name: String
  let bytes: [UInt8]
  let location: FormatError.Location
  /// A fragment of the error's `expected`.
  let expected: String

  var testDescription: String { name }

  init(
    _ name: String, _ bytes: [UInt8], _ location: FormatError.Location, _ expected: String
  ) {
    self.name = name
    self.bytes = bytes
    self.location = location
    self.expected = expected
  }
}

/// Every malformed case of the format, in the order the reader checks them.
private let malformedCases: [MalformedCase] = [
  // The file holds the 8-byte header length.
  MalformedCase("empty file", [], .whole, "at least 8 bytes"),
  MalformedCase("7 bytes", [8, 0, 0, 0, 0, 0, 0], .whole, "at least 8 bytes"),
  // The header length is at most 100,000,000 and fits in the file.
  MalformedCase(
    "header length 100,000,001", file("{}", length: 100_000_001), .offset(0),
    "at most 100000000"),
  MalformedCase(
    "header length 2^64 - 1", file("{}", length: .max), .offset(0), "at most 100000000"),
  MalformedCase(
    "header beyond the file", file("{}", length: 100_000_000), .offset(0),
    "within the 2 bytes"),
  MalformedCase("header one byte too long", file("{}", length: 3), .offset(0), "within"),
  // The header is UTF-8.
  MalformedCase(
    "invalid UTF-8 byte", file(Array("{\"a".utf8) + [0xFF] + Array("\":1}".utf8)),
    .offset(11), "UTF-8"),
  MalformedCase(
    "overlong UTF-8", file(Array("{\"".utf8) + [0xC0, 0xAF] + Array("\":1}".utf8)),
    .offset(10), "UTF-8"),
  MalformedCase(
    "UTF-8 surrogate", file(Array("{\"".utf8) + [0xED, 0xA0, 0x80] + Array("\":1}".utf8)),
    .offset(11), "UTF-8"),
  MalformedCase(
    "truncated UTF-8 at the header's end", file(Array("{}".utf8) + [0xE2, 0x82]),
    .offset(12), "UTF-8"),
  // The header is one JSON object.
  MalformedCase(
    "byte-order mark", file([0xEF, 0xBB, 0xBF] + Array("{}".utf8)), .offset(8),
    "a JSON value"),
  MalformedCase(
    "NUL padding", file(Array("{}".utf8) + [0, 0, 0, 0, 0, 0]), .offset(10),
    "only JSON whitespace"),
  MalformedCase("trailing text", file("{} x"), .offset(11), "only JSON whitespace"),
  MalformedCase("empty header", file(""), .offset(8), "a JSON value"),
  MalformedCase("unclosed object", file("{\"a\":{}"), .offset(15), "',' or '}'"),
  MalformedCase("trailing comma", file("{\"a\":{},}"), .offset(16), "a string key"),
  MalformedCase("single quotes", file("{'a':{}}"), .offset(9), "a string key"),
  MalformedCase("leading zero", file("{\"a\":[01]}"), .offset(15), "',' or ']'"),
  MalformedCase("bare minus", file("{\"a\":[-]}"), .offset(15), "a digit"),
  MalformedCase("raw newline in a string", file("{\"a\n\":1}"), .offset(11), "control"),
  MalformedCase("unknown escape", file("{\"\\x\":1}"), .offset(11), "after '\\'"),
  MalformedCase("lone low surrogate", file("{\"\\uDC00\":1}"), .offset(10), "high surrogate"),
  MalformedCase(
    "high surrogate alone", file("{\"\\uD800\":1}"), .offset(16), "low surrogate"),
  MalformedCase(
    "nesting 128 deep",
    file("{\"a\":" + String(repeating: "[", count: 127) + String(repeating: "]", count: 127) + "}"),
    .offset(139), "at most 127 levels"),
  MalformedCase("top level array", file("[]"), .offset(8), "a JSON object"),
  MalformedCase("tensor entry not an object", file("{\"t\":5}"), .field("t"), "an object"),
  MalformedCase(
    "key twice in an entry",
    file("{\"t\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}}"),
    .field("t"), "each key once"),
  // Every dtype is known, spelled exactly.
  MalformedCase(
    "lower-case dtype", file("{\"t\":{\"dtype\":\"f32\",\"shape\":[],\"data_offsets\":[0,4]}}"),
    .field("t.dtype"), "one of BOOL, F4"),
  MalformedCase(
    "dtype not a string", file("{\"t\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}"),
    .field("t.dtype"), "one of BOOL"),
  MalformedCase(
    "unknown dtype after a missing shape",
    file(
      "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]},"
        + "\"b\":{\"dtype\":\"F128\",\"shape\":[],\"data_offsets\":[4,20]}}"),
    .field("b.dtype"), "one of"),
  // Shapes and offsets are arrays of non-negative integers.
  MalformedCase(
    "negative dimension", file("{" + entry("t", "[-1]", 0, 4) + "}"),
    .field("t.shape"), "non-negative integers"),
  MalformedCase(
    "fractional dimension", file("{" + entry("t", "[1.0]", 0, 4) + "}"),
    .field("t.shape"), "non-negative integers"),
  MalformedCase(
    "exponent dimension", file("{" + entry("t", "[1e0]", 0, 4) + "}"),
    .field("t.shape"), "non-negative integers"),
  MalformedCase(
    "shape not an array", file("{" + entry("t", "1", 0, 4) + "}"),
    .field("t.shape"), "an array"),
  MalformedCase(
    "dimension above Int.max", file("{" + entry("t", "[9223372036854775808]", 0, 4) + "}"),
    .field("t.shape"), "at most 9223372036854775807"),
  MalformedCase(
    "offset of 2^64",
    file("{\"t\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,18446744073709551616]}}"),
    .field("t.data_offsets"), "non-negative integers"),
  MalformedCase(
    "string offset", file("{\"t\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[\"0\",4]}}"),
    .field("t.data_offsets"), "non-negative integers"),
  // data_offsets has exactly 2 entries.
  MalformedCase(
    "one offset", file("{\"t\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0]}}"),
    .field("t.data_offsets"), "2 entries"),
  MalformedCase(
    "three offsets", file("{\"t\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4,8]}}"),
    .field("t.data_offsets"), "2 entries"),
  // dtype, shape and data_offsets are present.
  MalformedCase(
    "missing dtype", file("{\"t\":{\"shape\":[],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]),
    .field("t"), "dtype, shape and data_offsets"),
  MalformedCase(
    "missing shape",
    file("{\"t\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]),
    .field("t"), "dtype, shape and data_offsets"),
  MalformedCase(
    "missing data_offsets", file("{\"t\":{\"dtype\":\"F32\",\"shape\":[]}}"), .field("t"),
    "dtype, shape and data_offsets"),
  // The ranges sorted by (begin, end) tile the buffer from 0.
  MalformedCase(
    "gap at the start",
    file("{" + entry("t", "[1]", 4, 8) + "}", data: Array(repeating: 0, count: 8)),
    .field("t.data_offsets"), "begin 0"),
  MalformedCase(
    "gap between tensors",
    file(
      "{" + entry("a", "[1]", 0, 4) + "," + entry("b", "[1]", 8, 12) + "}",
      data: Array(repeating: 0, count: 12)),
    .field("b.data_offsets"), "begin 4"),
  MalformedCase(
    "overlap",
    file(
      "{" + entry("b", "[1]", 2, 6) + "," + entry("a", "[1]", 0, 4) + "}",
      data: Array(repeating: 0, count: 6)),
    .field("b.data_offsets"), "begin 4"),
  MalformedCase(
    "end before begin",
    file(
      "{" + entry("a", "[1]", 0, 4) + "," + entry("b", "[]", 4, 0) + "}",
      data: Array(repeating: 0, count: 4)),
    .field("b.data_offsets"), "end >= begin 4"),
  // Each range holds product(shape) x element size bytes.
  MalformedCase(
    "too few bytes for the shape", file("{" + entry("t", "[2]", 0, 4) + "}", data: [0, 0, 0, 0]),
    .field("t.data_offsets"), "8 bytes for shape [2] of F32"),
  MalformedCase(
    "element count overflows",
    file("{" + entry("t", "[4294967296,4294967296]", 0, 0) + "}"), .field("t.shape"),
    "below 2^64"),
  MalformedCase(
    "byte count overflows", file("{" + entry("t", "[4611686018427387904]", 0, 0) + "}"),
    .field("t.shape"), "below 2^64"),
  MalformedCase(
    "FP4 ending inside a byte",
    file("{\"t\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,2]}}", data: [0, 0]),
    .field("t.shape"), "a whole number of bytes"),
  // The buffer ends at the end of the file.
  MalformedCase(
    "bytes after the last tensor",
    file("{" + entry("t", "[1]", 0, 4) + "}", data: [0, 0, 0, 0, 9]),
    .offset(66), "end at the end of the file (5 bytes"),
  MalformedCase(
    "file shorter than the tensors", file("{" + entry("t", "[1]", 0, 4) + "}", data: [0, 0]),
    .offset(64), "end at the end of the file (2 bytes"),
  // No name twice.
  MalformedCase(
    "duplicate name",
    file(
      "{" + entry("t", "[1]", 0, 4) + "," + entry("t", "[1]", 4, 8) + "}",
      data: Array(repeating: 0, count: 8)),
    .field("t"), "each name once"),
  MalformedCase(
    "duplicate __metadata__", file("{\"__metadata__\":{},\"__metadata__\":{}}"),
    .field("__metadata__"), "each name once"),
  // __metadata__ maps strings to strings.
  MalformedCase(
    "metadata value not a string", file("{\"__metadata__\":{\"epochs\":3}}"),
    .field("__metadata__.epochs"), "a string"),
  MalformedCase(
    "metadata null", file("{\"__metadata__\":null}"), .field("__metadata__"), "an object"),
  MalformedCase(
    "metadata key twice", file("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}"),
    .field("__metadata__.a"), "each key once"),
]

@Suite struct SafeTensorsFileTests {
  /// `safetensors.numpy.save` (safetensors 0.8.0) of these tensors with
  /// `metadata={"format": "pt"}`.
  static let referenceHeader =
    #"{"__metadata__":{"format":"pt"},"bn.num_batches_tracked":{"dtype":"I64","shape":[],"#
    + #""data_offsets":[0,8]},"dd":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},"#
    + #""conv1.weight":{"dtype":"F32","shape":[2,1,1,1],"data_offsets":[16,24]},"#
    + #""empty":{"dtype":"F32","shape":[0,3],"data_offsets":[24,24]},"#
    + #""a\"b\n":{"dtype":"F16","shape":[2],"data_offsets":[24,28]}}       "#
  static let referenceData: [UInt8] = [
    0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0,
    0x3f, 0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x3c, 0x00, 0xb8,
  ]

  /// The tensors of the reference file, in an order of our own.
  static func referenceContents() -> SafeTensorsFile {
    SafeTensorsFile(
      tensors: [
        ("conv1.weight", SafeTensor([1.5, -2], shape: [2, 1, 1, 1])),
        ("a\"b\n", SafeTensor(dtype: .float16, shape: [2], bytes: [0x00, 0x3C, 0x00, 0xB8])),
        ("empty", SafeTensor([] as [Float], shape: [0, 3])),
        ("bn.num_batches_tracked", SafeTensor([7] as [Int64], shape: [])),
        ("dd", SafeTensor(dtype: .float64, shape: [1], bytes: [0, 0, 0, 0, 0, 0, 0xD0, 0x3F])),
      ],
      metadata: ["format": "pt"])
  }

  @Test func writesTheReferenceWritersBytes() {
    let expected = file(Self.referenceHeader, data: Self.referenceData)
    #expect(expected.count == 396)
    #expect(Self.referenceContents().encoded() == expected)
  }

  @Test func readsTheReferenceWritersFile() throws {
    let read = try SafeTensorsFile(
      decoding: file(Self.referenceHeader, data: Self.referenceData), file: "reference")
    #expect(read.names == ["bn.num_batches_tracked", "dd", "conv1.weight", "empty", "a\"b\n"])
    #expect(read.metadata == ["format": "pt"])
    #expect(try read.floats(named: "conv1.weight") == [1.5, -2])
    #expect(try read.floats(named: "dd") == [0.25])
    #expect(try read.floats(named: "a\"b\n") == [1, -0.5])
    #expect(try read.floats(named: "empty") == [])
    #expect(read["bn.num_batches_tracked"] == SafeTensor([7] as [Int64], shape: []))
    // Equality includes the order: re-adding each tensor in the file's order makes them equal.
    var reordered = Self.referenceContents()
    #expect(read != reordered)
    for name in read.names {
      let tensor = reordered[name]
      reordered[name] = nil
      reordered[name] = tensor
    }
    #expect(read == reordered)
  }

  @Test func roundTripsToTheByte() throws {
    let original = SafeTensorsFile(
      tensors: [
        ("scalar", SafeTensor([3.25], shape: [])),
        ("zero rows", SafeTensor([] as [Float], shape: [0, 5])),
        ("fc.weight", SafeTensor((0..<12).map(Float.init), shape: [3, 4])),
        ("bits", SafeTensor(dtype: .bool, shape: [3], bytes: [1, 0, 1])),
        ("fp4", SafeTensor(dtype: .float4, shape: [2, 3], bytes: [0x12, 0x34, 0x56])),
        ("fp6", SafeTensor(dtype: .float6E2M3, shape: [4], bytes: [1, 2, 3])),
        ("c", SafeTensor(dtype: .complex64, shape: [1], bytes: Array(1...8))),
        ("h", SafeTensor(dtype: .bfloat16, shape: [1, 1], bytes: [0x80, 0x3F])),
        ("é/\u{1}\t", SafeTensor([1, 2] as [Int64], shape: [2])),
      ],
      metadata: ["architecture": #"{"layers": ["conv", "relu"]}"#, "z": "", "a\u{7F}": "é"])
    let bytes = original.encoded()
    let headerLength = Int(UInt64(littleEndianAt: 0, in: bytes))
    #expect(headerLength % 8 == 0)
    let read = try SafeTensorsFile(decoding: bytes, file: "round trip")
    #expect(Set(read.names) == Set(original.names))
    for (name, tensor) in original.tensors {
      #expect(read[name] == tensor, "\(name)")
    }
    #expect(read.metadata == original.metadata)
    #expect(read.encoded() == bytes)

    let scratch = try ScratchFolder("bulwark")

    let url = scratch.url("file.safetensors")
    try original.write(to: url)
    let reread = try SafeTensorsFile(contentsOf: url)
    #expect(reread == read)
    #expect(reread.source == url.path)
  }

  @Test func ordersTensorsByDTypeThenNameBytes() throws {
    let contents = SafeTensorsFile(tensors: [
      ("b", SafeTensor(dtype: .uint32, shape: [], bytes: [0, 0, 0, 0])),
      ("a", SafeTensor(dtype: .int32, shape: [], bytes: [0, 0, 0, 0])),
      ("c", SafeTensor([0] as [Float], shape: [])),
      ("Z", SafeTensor(dtype: .int32, shape: [], bytes: [0, 0, 0, 0])),
      ("é", SafeTensor(dtype: .int32, shape: [], bytes: [0, 0, 0, 0])),
    ])
    let read = try SafeTensorsFile(decoding: contents.encoded(), file: "order")
    // The reference's declaration order puts F32 after U32 after I32; "Z" < "a" < "é" in bytes.
    #expect(read.names == ["c", "b", "Z", "a", "é"])
  }

  @Test func writesNoMetadataEntryWhenEmpty() {
    #expect(SafeTensorsFile().encoded() == file("{}      "))
  }

  @Test(arguments: malformedCases)
  func rejectsMalformedFile(_ malformed: MalformedCase) {
    let error = #expect(throws: FormatError.self) {
      try SafeTensorsFile(decoding: malformed.bytes, file: "bad.safetensors")
    }
    #expect(error?.file == "bad.safetensors")
    #expect(error?.location == malformed.location)
    #expect(error?.expected.contains(malformed.expected) == true, "\(String(describing: error))")
  }

  @Test func acceptsWhitespaceAroundTheHeaderAndExtraKeys() throws {
    let header =
      "\n\t {\"t\":{\"data_offsets\":[0,4],\"note\":{\"x\":[1.5,null,true]},\"shape\":[1],"
      + "\"dtype\":\"F32\"},\"\\u00e9\\ud83d\\ude00\":{\"dtype\":\"U8\",\"shape\":[0],"
      + "\"data_offsets\":[4,4]}} \r\n"
    let read = try SafeTensorsFile(decoding: file(header, data: [0, 0, 0x80, 0x3F]), file: "ws")
    #expect(read.names == ["t", "é😀"])
    #expect(try read.floats(named: "t") == [1])
  }

  @Test func acceptsNesting127Deep() throws {
    // The header object, the entry, then 125 arrays: the deepest the reference reads.
    let nested = String(repeating: "[", count: 125) + String(repeating: "]", count: 125)
    let header = "{\"t\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0],\"x\":\(nested)}}"
    let read = try SafeTensorsFile(decoding: file(header), file: "deep")
    #expect(read["t"]?.shape == [0])
  }

  @Test func readsOffsetsExactlyBeyondDoublePrecision() {
    // 2^53 + 1 becomes 2^53 through Double; the error must quote the exact value.
    let header =
      "{\"t\":{\"dtype\":\"U8\",\"shape\":[9007199254740993],"
      + "\"data_offsets\":[0,9007199254740993]}}"
    let error = #expect(throws: FormatError.self) {
      try SafeTensorsFile(decoding: file(header), file: "big")
    }
    #expect(error?.found == "tensors covering 9007199254740993 bytes")
  }

  @Test func readsUnalignedData() throws {
    // A 3-byte U8 tensor first, and a header whose length is not a multiple of 8, put the F32
    // and F64 data at odd addresses.
    let header =
      "{\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
      + "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]},"
      + "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[11,19]}}"
    #expect((8 + header.utf8.count) % 2 == 1)
    let data: [UInt8] =
      [1, 2, 3] + [0x00, 0x00, 0x80, 0xBF, 0x00, 0x00, 0x20, 0x41]
      + [0x9A, 0x99, 0x99, 0x99, 0x99, 0x99, 0xB9, 0x3F]
    let read = try SafeTensorsFile(decoding: file(header, data: data), file: "unaligned")
    #expect(try read.floats(named: "f") == [-1, 10])
    #expect(try read.floats(named: "d") == [Float(0.1)])
    #expect(read["u"]?.bytes == [1, 2, 3])
  }

  @Test func convertsHalfPrecisionExactly() throws {
    let bits: [UInt16] = [
      0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x0400, 0x8000, 0x7C00, 0xFC00, 0x3555,
    ]
    let tensor = SafeTensor(
      dtype: .float16, shape: [bits.count],
      bytes: bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
    let values = try tensor.floats()
    let expected: [Float] = [
      1, -2, 65504, 0x1p-24, 0x1.FF8p-15, 0x1p-14, -0.0, .infinity, -.infinity, 0.33325195,
    ]
    #expect(values.map(\.bitPattern) == expected.map(\.bitPattern))
    let nan = SafeTensor(dtype: .float16, shape: [], bytes: [0x01, 0x7E])
    #expect(try nan.floats()[0].isNaN)
  }

  @Test func convertsBFloat16Exactly() throws {
    let tensor = SafeTensor(
      dtype: .bfloat16, shape: [4], bytes: [0x80, 0x3F, 0x49, 0xC0, 0x80, 0x7F, 0x01, 0x00])
    let expected: [Float] = [1, -3.140625, .infinity, Float(bitPattern: 0x0001_0000)]
    #expect(try tensor.floats() == expected)
  }

  @Test func refusesFloatsOfIntegerTensorsNamingThem() throws {
    let contents = SafeTensorsFile(
      tensors: [("bn.num_batches_tracked", SafeTensor([3] as [Int64], shape: []))],
      source: "model.safetensors")
    let error = #expect(throws: FormatError.self) {
      try contents.floats(named: "bn.num_batches_tracked")
    }
    #expect(error?.location == .field("bn.num_batches_tracked.dtype"))
    #expect(error?.found == "I64")
    #expect(error?.file == "model.safetensors")
    let missing = #expect(throws: FormatError.self) { try contents.floats(named: "fc.bias") }
    #expect(missing?.location == .field("fc.bias"))
  }

  @Test func listsTheReferenceDTypesWithTheirSizes() {
    #expect(
      SafeTensorsDType.allCases.map(\.rawValue) == [
        "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0",
        "F8_E4M3FNUZ", "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64",
        "F64", "I64", "U64",
      ])
    #expect(
      SafeTensorsDType.allCases.map(\.bitCount) == [
        8, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 16, 16, 16, 16, 32, 32, 32, 64, 64, 64, 64,
      ])
  }
}
