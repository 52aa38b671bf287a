import BulwarkCore
import BulwarkData
import Foundation

extension SafeTensorsFile {
  /// The largest header the reference accepts.
  static let maximumHeaderLength: UInt64 = 100_000_000

  /// Reads a safetensors file.
  /// - Parameter url: The file.
  /// - Throws: `FileAccessError` if the file cannot be read, or `FormatError` as
  ///   `init(decoding:file:)` does.
  public init(contentsOf url: URL) throws {
    let data = try FileAccess.contents(of: url)
    try self.init(decoding: [UInt8](data), file: url.path)
  }

  /// Decodes a safetensors file's bytes.
  ///
  /// Checks, in this order, and throws at the first failure: the file holds the 8-byte header
  /// length; the length is at most 100,000,000 and the header fits in the file; the header is
  /// UTF-8 and one JSON object (whitespace around it allowed, nothing else) whose entries
  /// other than `__metadata__` are objects; every dtype is one of `SafeTensorsDType`'s
  /// spellings; shapes and data_offsets are arrays of non-negative integers, read exactly
  /// (never through `Double`); data_offsets has 2 entries; dtype, shape and data_offsets are
  /// present; the byte ranges, sorted by (begin, end), tile the data buffer from 0 with no gap
  /// or overlap; each range holds product(shape) x element size bytes; the last range ends at
  /// the end of the file; no name appears twice; `__metadata__` maps strings to strings.
  /// Extra keys in a tensor's entry are ignored. Data need not be aligned.
  /// - Parameters:
  ///   - bytes: The whole file.
  ///   - file: The file's name, for errors.
  /// - Throws: `FormatError` naming the offset or the field (`conv1.weight.data_offsets`).
  public init(decoding bytes: [UInt8], file: String) throws(FormatError) {
    func fail(_ location: FormatError.Location, _ expected: String, _ found: String)
      -> FormatError
    {
      FormatError(file: file, location: location, expected: expected, found: found)
    }

    guard bytes.count >= 8 else {
      throw fail(.whole, "at least 8 bytes (the header length)", "\(bytes.count) bytes")
    }
    let length = UInt64(littleEndianAt: 0, in: bytes)
    guard length <= Self.maximumHeaderLength else {
      throw fail(
        .offset(0), "a header length of at most \(Self.maximumHeaderLength) bytes", "\(length)")
    }
    let (headerEnd, overflow) = Int(length).addingReportingOverflow(8)
    guard !overflow, headerEnd <= bytes.count else {
      throw fail(
        .offset(0), "a header length within the \(bytes.count - 8) bytes after it", "\(length)")
    }
    let headerBytes = bytes[8..<headerEnd]
    if let bad = firstInvalidUTF8(in: headerBytes) {
      let found = bad < headerEnd ? "byte 0x\(hex(bytes[bad], digits: 2))" : "a truncated sequence"
      throw fail(.offset(bad), "a UTF-8 header", found)
    }
    let json = try HeaderJSON.parse(headerBytes, base: 8, file: file)
    let header = try Header(json, file: file)
    let tensors = try header.validatedTensors()

    // The ranges tile the buffer from 0, so the last one (in offset order) ends it.
    let bufferEnd = tensors.map(\.end).max() ?? 0
    let bufferLength = UInt64(bytes.count - headerEnd)
    guard bufferEnd == bufferLength else {
      throw fail(
        .offset(headerEnd + Int(min(bufferEnd, bufferLength))),
        "the data buffer to end at the end of the file (\(bufferLength) bytes after the header)",
        "tensors covering \(bufferEnd) bytes")
    }
    try header.checkNamesAreUnique()
    let metadata = try header.metadata()

    self.init(metadata: metadata, source: file)
    for tensor in tensors.sorted(by: { $0.index < $1.index }) {
      let start = headerEnd + Int(tensor.begin)
      let end = headerEnd + Int(tensor.end)
      self[tensor.name] = SafeTensor(
        dtype: tensor.dtype, shape: tensor.shape, bytes: Array(bytes[start..<end]))
    }
  }
}

/// A tensor's entry once its fields are checked.
private struct TensorEntry {
  /// The entry's position in the header.
  var index: Int
  var name: String
  var dtype: SafeTensorsDType
  var shape: [Int]
  var begin: UInt64
  var end: UInt64
}

/// A parsed header, checked stage by stage in the order the format prescribes.
private struct Header {
  let members: [(key: String, value: HeaderJSON)]
  let file: String

  /// Takes the header's JSON; it must be an object whose tensor entries are objects, each
  /// key once.
  init(_ json: HeaderJSON, file: String) throws(FormatError) {
    guard case .object(let members) = json else {
      throw FormatError(
        file: file, location: .offset(8), expected: "a JSON object", found: json.summary)
    }
    self.members = members
    self.file = file
    for (name, value) in tensorMembers {
      guard case .object(let fields) = value else {
        throw error(
          name, "an object with dtype, shape and data_offsets", value.summary)
      }
      if let repeated = firstRepeatedKey(fields.map(\.key)) {
        throw error(name, "each key once", "'\(repeated)' twice")
      }
    }
  }

  var tensorMembers: [(key: String, value: HeaderJSON)] {
    members.filter { $0.key != "__metadata__" }
  }

  func error(_ field: String, _ expected: String, _ found: String) -> FormatError {
    FormatError(file: file, location: .field(field), expected: expected, found: found)
  }

  /// The value of `key` in a tensor's entry, or `nil` if absent.
  func field(_ key: String, of value: HeaderJSON) -> HeaderJSON? {
    guard case .object(let fields) = value else { return nil }
    return fields.first { $0.key == key }?.value
  }

  /// Checks every tensor's fields, each check over all tensors before the next one.
  func validatedTensors() throws(FormatError) -> [TensorEntry] {
    let entries = tensorMembers
    let known = SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")
    for (name, value) in entries {
      guard let dtype = field("dtype", of: value) else { continue }
      guard case .string(let text) = dtype, SafeTensorsDType(rawValue: text) != nil else {
        throw error("\(name).dtype", "one of \(known)", dtype.summary)
      }
    }
    for (name, value) in entries {
      for key in ["shape", "data_offsets"] {
        guard let array = field(key, of: value) else { continue }
        guard case .array(let elements) = array else {
          throw error("\(name).\(key)", "an array of non-negative integers", array.summary)
        }
        for element in elements {
          let limit = key == "shape" ? UInt64(Int.max) : UInt64.max
          guard let integer = element.unsignedInteger, integer <= limit else {
            throw error(
              "\(name).\(key)", "non-negative integers of at most \(limit)", element.summary)
          }
        }
      }
    }
    for (name, value) in entries {
      if case .array(let offsets) = field("data_offsets", of: value), offsets.count != 2 {
        throw error("\(name).data_offsets", "2 entries [begin, end]", "\(offsets.count)")
      }
    }
    var tensors: [TensorEntry] = []
    for (index, (name, value)) in entries.enumerated() {
      let missing = ["dtype", "shape", "data_offsets"].filter { field($0, of: value) == nil }
      guard missing.isEmpty,
        case .string(let text) = field("dtype", of: value),
        let dtype = SafeTensorsDType(rawValue: text),
        case .array(let shape) = field("shape", of: value),
        case .array(let offsets) = field("data_offsets", of: value),
        let begin = offsets.first?.unsignedInteger, let end = offsets.last?.unsignedInteger
      else {
        throw error(
          name, "dtype, shape and data_offsets",
          "no " + missing.joined(separator: ", no "))
      }
      tensors.append(
        TensorEntry(
          index: index, name: name, dtype: dtype,
          shape: shape.map { Int($0.unsignedInteger ?? 0) }, begin: begin, end: end))
    }
    try checkTiling(tensors)
    try checkByteCounts(tensors)
    return tensors
  }

  /// The ranges sorted by (begin, end) must follow each other from 0.
  func checkTiling(_ tensors: [TensorEntry]) throws(FormatError) {
    let sorted = tensors.sorted { ($0.begin, $0.end) < ($1.begin, $1.end) }
    var next: UInt64 = 0
    for tensor in sorted {
      let field = "\(tensor.name).data_offsets"
      guard tensor.begin == next else {
        let problem = tensor.begin < next ? "overlapping the previous tensor" : "leaving a gap"
        throw error(
          field, "begin \(next), where the previous tensor ends",
          "begin \(tensor.begin), \(problem)")
      }
      guard tensor.end >= tensor.begin else {
        throw error(field, "end >= begin \(tensor.begin)", "end \(tensor.end)")
      }
      next = tensor.end
    }
  }

  /// Each range must hold exactly product(shape) elements of its dtype.
  func checkByteCounts(_ tensors: [TensorEntry]) throws(FormatError) {
    for tensor in tensors {
      var elements: UInt64 = 1
      var overflow = false
      for dimension in tensor.shape where !overflow {
        (elements, overflow) = elements.multipliedReportingOverflow(by: UInt64(dimension))
      }
      let bits = elements.multipliedReportingOverflow(by: UInt64(tensor.dtype.bitCount))
      let shape = "shape \(tensor.shape) of \(tensor.dtype.rawValue)"
      guard !overflow, !bits.overflow else {
        throw error("\(tensor.name).shape", "a byte count below 2^64", shape)
      }
      guard bits.partialValue % 8 == 0 else {
        throw error(
          "\(tensor.name).shape",
          "a whole number of bytes (\(tensor.dtype.rawValue) packs \(tensor.dtype.bitCount) bits"
            + " a value)", "\(elements) values, \(bits.partialValue) bits")
      }
      let expected = bits.partialValue / 8
      guard tensor.end - tensor.begin == expected else {
        throw error(
          "\(tensor.name).data_offsets", "\(expected) bytes for \(shape)",
          "\(tensor.end - tensor.begin) bytes")
      }
    }
  }

  /// Names must be unique (the reference silently keeps the last).
  func checkNamesAreUnique() throws(FormatError) {
    if let repeated = firstRepeatedKey(members.map(\.key)) {
      let count = members.count { $0.key == repeated }
      throw error(repeated, "each name once", "\(count) entries named '\(repeated)'")
    }
  }

  /// `__metadata__`, which must be an object of strings if present.
  func metadata() throws(FormatError) -> [String: String] {
    guard let value = members.first(where: { $0.key == "__metadata__" })?.value else {
      return [:]
    }
    guard case .object(let pairs) = value else {
      throw error("__metadata__", "an object of string values", value.summary)
    }
    var metadata: [String: String] = [:]
    for (key, value) in pairs {
      guard case .string(let text) = value else {
        throw error("__metadata__.\(key)", "a string", value.summary)
      }
      guard metadata.updateValue(text, forKey: key) == nil else {
        throw error("__metadata__.\(key)", "each key once", "'\(key)' twice")
      }
    }
    return metadata
  }
}

/// The first key that occurs twice, if any. Keys equal under Unicode canonical equivalence
/// count as the same, since a Swift dictionary cannot hold both.
private func firstRepeatedKey(_ keys: [String]) -> String? {
  var seen: Set<String> = []
  return keys.first { !seen.insert($0).inserted }
}

/// The file offset of the first byte of `bytes` that does not start or continue a well-formed
/// UTF-8 sequence (no overlong forms, surrogates or scalars above U+10FFFF), or `nil`.
private func firstInvalidUTF8(in bytes: ArraySlice<UInt8>) -> Int? {
  var index = bytes.startIndex
  while index < bytes.endIndex {
    let lead = bytes[index]
    let length: Int
    var low: UInt8 = 0x80
    var high: UInt8 = 0xBF
    switch lead {
    case 0x00...0x7F:
      index += 1
      continue
    case 0xC2...0xDF: length = 2
    case 0xE0:
      length = 3
      low = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED:
      length = 3
      high = 0x9F
    case 0xF0:
      length = 4
      low = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4:
      length = 4
      high = 0x8F
    default: return index
    }
    for offset in 1..<length {
      let position = index + offset
      guard position < bytes.endIndex else { return position }
      let byte = bytes[position]
      let range = offset == 1 ? low...high : 0x80...0xBF
      guard range.contains(byte) else { return position }
    }
    index += length
  }
  return nil
}

extension UInt64 {
  /// Reads 8 little-endian bytes starting at `offset`.
  init(littleEndianAt offset: Int, in bytes: [UInt8]) {
    var value: UInt64 = 0
    for index in 0..<8 {
      value |= UInt64(bytes[offset + index]) << (8 * index)
    }
    self = value
  }
}
