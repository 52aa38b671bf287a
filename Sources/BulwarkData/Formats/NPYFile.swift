import BulwarkCore
import Foundation

/// Reader and writer for NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
///
/// Reads and writes the element types of ``NDArray/Storage``: `<f4`, `<f8`, `|u1`, `<i4`,
/// `<i8` and `|b1`, in C order. Writing produces byte for byte what NumPy 2.x's `np.save`
/// writes (NEP 1, <https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html>).
public enum NPYFile {
  /// The magic string that starts every `.npy` file.
  static let magic: [UInt8] = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]

  /// Reads a `.npy` file.
  /// - Parameter url: The file.
  /// - Returns: The array.
  /// - Throws: `FileAccessError` when the file cannot be read; `FormatError` when it is
  ///   malformed or holds an element type, byte order or memory order that Bulwark does not
  ///   read.
  public static func read(from url: URL) throws -> NDArray {
    try decode([UInt8](try FileAccess.contents(of: url)), file: url.path)
  }

  /// Decodes the bytes of a `.npy` file.
  /// - Parameters:
  ///   - bytes: The file's contents.
  ///   - file: The file's name, for error messages.
  /// - Returns: The array.
  /// - Throws: `FormatError` naming the offset or header key when the magic string, version,
  ///   header or data length is wrong, or when the array is big-endian, Fortran-ordered, of
  ///   objects, structured, or of an unsupported element type.
  public static func decode(_ bytes: [UInt8], file: String) throws(FormatError) -> NDArray {
    guard bytes.count >= 10 else {
      throw FormatError(
        file: file, location: .whole, expected: "at least the 10-byte .npy preamble",
        found: "\(bytes.count) bytes")
    }
    guard let layout = try Layout(prefix: bytes, file: file) else {
      // The preamble is valid, so the file ends inside the header length or the header.
      guard bytes.count >= 12 else {
        throw FormatError(
          file: file, location: .offset(8), expected: "a 4-byte header length",
          found: "the end of the file")
      }
      let headerLength =
        bytes[6] == 1 ? Int(bytes.littleEndianUInt16(at: 8)) : Int(bytes.littleEndianUInt32(at: 8))
      throw FormatError(
        file: file, location: .offset(bytes.count), expected: "a header of \(headerLength) bytes",
        found: "the end of the file")
    }
    guard bytes.count - layout.dataStart == layout.dataLength else {
      throw FormatError(
        file: file, location: .offset(layout.dataStart),
        expected: "\(layout.dataLength) data bytes for shape \(layout.shapeText) of "
          + "'\(layout.header.descr)'",
        found: "\(bytes.count - layout.dataStart) bytes")
    }
    if layout.elementType == .bool,
      let bad = bytes[layout.dataStart...].firstIndex(where: { $0 > 1 })
    {
      throw FormatError(
        file: file, location: .offset(bad), expected: "a boolean byte 0 or 1",
        found: hexLiteral(bytes[bad]))
    }
    if case .unicode(let length) = layout.elementType {
      return NDArray(
        shape: layout.header.shape,
        storage: .unicode(
          try strings(
            bytes, from: layout.dataStart, count: layout.count, length: length, file: file)))
    }
    return NDArray(
      shape: layout.header.shape,
      storage: layout.elementType.storage(bytes, from: layout.dataStart, count: layout.count))
  }

  /// Reads `count` strings of `length` little-endian UTF-32 code units each, trailing zeros
  /// dropped as NumPy drops them.
  private static func strings(
    _ bytes: [UInt8], from start: Int, count: Int, length: Int, file: String
  ) throws(FormatError) -> [String] {
    var strings: [String] = []
    strings.reserveCapacity(count)
    for index in 0..<count {
      var scalars = String.UnicodeScalarView()
      for position in 0..<length {
        let offset = start + 4 * (index * length + position)
        let code = bytes.littleEndianUInt32(at: offset)
        if code == 0 { continue }
        guard let scalar = Unicode.Scalar(code) else {
          throw FormatError(
            file: file, location: .offset(offset), expected: "a Unicode scalar value",
            found: hexLiteral(code))
        }
        scalars.append(scalar)
      }
      strings.append(String(scalars))
    }
    return strings
  }

  /// The total length of the `.npy` document that `prefix` starts, for reading `.npy` arrays
  /// one after another from a stream: nil while `prefix` is too short to tell.
  /// - Parameters:
  ///   - prefix: The bytes read so far.
  ///   - file: The stream's name, for messages.
  /// - Returns: Preamble, header and data bytes together, or nil if more bytes are needed.
  /// - Throws: `FormatError` as `decode(_:file:)` does for a malformed preamble or header.
  package static func documentLength(ofPrefix prefix: [UInt8], file: String)
    throws(FormatError) -> Int?
  {
    try Layout(prefix: prefix, file: file).map { $0.dataStart + $0.dataLength }
  }

  /// Where the header and the data of a `.npy` document lie, and what the data hold.
  struct Layout {
    var header: NPYHeader
    var elementType: ElementType
    var dataStart: Int
    var count: Int
    var dataLength: Int

    var shapeText: String { "(" + header.shape.map(String.init).joined(separator: ", ") + ")" }

    /// Reads the preamble and header at the start of `bytes`; nil if `bytes` ends before the
    /// header does.
    init?(prefix bytes: [UInt8], file: String) throws(FormatError) {
      let known = min(bytes.count, magic.count)
      guard bytes.prefix(known).elementsEqual(magic.prefix(known)) else {
        throw FormatError(
          file: file, location: .offset(0), expected: "the .npy magic string \\x93NUMPY",
          found: bytes.prefix(6).map { hexLiteral($0) }.joined(separator: " "))
      }
      guard bytes.count >= 10 else { return nil }
      let major = bytes[6]
      guard (1...3).contains(major), bytes[7] == 0 else {
        throw FormatError(
          file: file, location: .offset(6), expected: "format version 1.0, 2.0 or 3.0",
          found: "\(major).\(bytes[7])")
      }
      let headerStart = major == 1 ? 10 : 12
      guard bytes.count >= headerStart else { return nil }
      let headerLength =
        major == 1 ? Int(bytes.littleEndianUInt16(at: 8)) : Int(bytes.littleEndianUInt32(at: 8))
      let dataStart = headerStart + headerLength
      guard bytes.count >= dataStart else { return nil }
      let headerBytes = bytes[headerStart..<dataStart]
      let text: String
      if major == 3 {
        guard let decoded = String(validating: headerBytes, as: UTF8.self) else {
          throw FormatError(
            file: file, location: .offset(headerStart), expected: "a UTF-8 header",
            found: "invalid UTF-8")
        }
        text = decoded
      } else {
        text = String(String.UnicodeScalarView(headerBytes.map { Unicode.Scalar($0) }))
      }
      let header = try NPYHeader(parsing: text, file: file, offset: headerStart)
      let elementType = try ElementType(descr: header.descr, file: file)
      // With at most one axis longer than 1, Fortran and C order lay out the same bytes.
      guard !header.fortranOrder || header.shape.filter({ $0 > 1 }).count <= 1 else {
        throw FormatError(
          file: file, location: .field("fortran_order"), expected: "False",
          found:
            "True: Fortran-order arrays are not supported; save with np.ascontiguousarray")
      }
      var count = 1
      var overflow = false
      for size in header.shape where !overflow {
        (count, overflow) = count.multipliedReportingOverflow(by: size)
      }
      let (length, lengthOverflow) = count.multipliedReportingOverflow(by: elementType.size)
      let (end, endOverflow) = dataStart.addingReportingOverflow(length)
      guard !overflow, !lengthOverflow, !endOverflow, end <= Int(Int32.max) * 1024 else {
        throw FormatError(
          file: file, location: .offset(dataStart), expected: "a shape whose size fits in memory",
          found: "shape " + "(" + header.shape.map(String.init).joined(separator: ", ") + ")")
      }
      self.header = header
      self.elementType = elementType
      self.dataStart = dataStart
      self.count = count
      self.dataLength = length
    }
  }

  /// Encodes `array` exactly as NumPy 2.x's `np.save` does: version 1.0 unless the header
  /// needs more than 65,535 bytes, the data aligned to 64 bytes.
  /// - Parameter array: The array to encode.
  /// - Returns: The bytes of a `.npy` file.
  /// - Complexity: O(n) in the array's size.
  public static func encode(_ array: NDArray) -> [UInt8] {
    let header = NPYHeader(descr: ElementType(array.storage).descr, shape: array.shape)
    let literal = Array(header.literal.utf8)
    // NumPy's `_wrap_header`: pad with spaces and a newline to a multiple of ARRAY_ALIGN = 64,
    // always adding at least the newline.
    func padding(lengthFieldSize: Int) -> Int {
      64 - (magic.count + 2 + lengthFieldSize + literal.count + 1) % 64
    }
    var padded = literal.count + 1 + padding(lengthFieldSize: 2)
    let major: UInt8 = padded <= Int(UInt16.max) ? 1 : 2
    if major == 2 { padded = literal.count + 1 + padding(lengthFieldSize: 4) }
    var bytes = magic + [major, 0]
    bytes.reserveCapacity(12 + padded + array.count * ElementType(array.storage).size)
    if major == 1 {
      bytes.appendLittleEndian(UInt16(padded))
    } else {
      bytes.appendLittleEndian(UInt32(padded))
    }
    bytes += literal
    bytes += repeatElement(0x20, count: padded - literal.count - 1)
    bytes.append(0x0a)
    switch array.storage {
    case .float32(let values): appendRaw(values.map { $0.bitPattern.littleEndian }, to: &bytes)
    case .float64(let values): appendRaw(values.map { $0.bitPattern.littleEndian }, to: &bytes)
    case .uint8(let values): bytes += values
    case .int32(let values): appendRaw(values.map { $0.littleEndian }, to: &bytes)
    case .int64(let values): appendRaw(values.map { $0.littleEndian }, to: &bytes)
    case .bool(let values): bytes += values.map { $0 ? 1 : 0 }
    case .unicode(let values):
      guard case .unicode(let length) = ElementType(array.storage) else { break }
      for value in values {
        let codes = value.unicodeScalars.map(\.value)
        appendRaw(
          (codes + repeatElement(0, count: length - codes.count)).map(\.littleEndian), to: &bytes)
      }
    }
    return bytes
  }

  /// Writes `array` to a `.npy` file as ``encode(_:)`` encodes it.
  /// - Parameters:
  ///   - array: The array to write.
  ///   - url: The file to create or replace.
  /// - Throws: `FileAccessError` when the file cannot be written.
  public static func write(_ array: NDArray, to url: URL) throws {
    try FileAccess.write(Data(encode(array)), to: url)
  }

  /// Appends the memory of integers already in little-endian order.
  private static func appendRaw<T: FixedWidthInteger>(_ values: [T], to bytes: inout [UInt8]) {
    values.withUnsafeBytes { bytes.append(contentsOf: $0) }
  }

  /// The element types Bulwark reads, with their NumPy dtype strings.
  enum ElementType: Equatable {
    case float32, float64, uint8, int32, int64, bool
    /// `<U`n: n UTF-32 code units per string.
    case unicode(Int)

    /// The most code units per string read: a header cannot make one string take gigabytes.
    static let maximumStringLength = 1 << 16

    init(_ storage: NDArray.Storage) {
      switch storage {
      case .unicode(let values):
        // NumPy's width: the longest string's scalars, at least 1.
        self = .unicode(max(1, values.map(\.unicodeScalars.count).max() ?? 1))
      case .float32: self = .float32
      case .float64: self = .float64
      case .uint8: self = .uint8
      case .int32: self = .int32
      case .int64: self = .int64
      case .bool: self = .bool
      }
    }

    /// Interprets a dtype string, refusing what Bulwark cannot read with the reason.
    init(descr: String, file: String) throws(FormatError) {
      let supported = "one of '<f4', '<f8', '|u1', '<i4', '<i8', '|b1', '<U' and a length"
      func refuse(_ reason: String) -> FormatError {
        FormatError(
          file: file, location: .field("descr"), expected: supported,
          found: "'\(descr)': \(reason)")
      }
      let order = descr.first
      let code = order.map { "<>|=".contains($0) } == true ? String(descr.dropFirst()) : descr
      switch code {
      case "f4": self = .float32
      case "f8": self = .float64
      case "u1": self = .uint8
      case "i4": self = .int32
      case "i8": self = .int64
      case "b1": self = .bool
      case _ where code.first == "U":
        guard let length = Int(code.dropFirst()), (1...Self.maximumStringLength).contains(length)
        else {
          throw refuse("a string length from 1 to \(Self.maximumStringLength) must follow U")
        }
        self = .unicode(length)
      case "O", "O8":
        throw refuse("object arrays cannot be read: they are pickled Python objects")
      default:
        throw refuse("this element type is not supported")
      }
      // One-byte values have no byte order; '=' means the writer's native order, unknown here.
      if size > 1 && order != "<" {
        throw refuse(
          order == ">"
            ? "big-endian arrays are not supported; convert with arr.astype('<\(code)')"
            : "the byte order must be little-endian '<'")
      }
    }

    var descr: String {
      switch self {
      case .float32: "<f4"
      case .float64: "<f8"
      case .uint8: "|u1"
      case .int32: "<i4"
      case .int64: "<i8"
      case .bool: "|b1"
      case .unicode(let length): "<U\(length)"
      }
    }

    var size: Int {
      switch self {
      case .uint8, .bool: 1
      case .int32, .float32: 4
      case .int64, .float64: 8
      case .unicode(let length): 4 * length
      }
    }

    /// Converts `count` little-endian values starting at `start`; the caller checked the
    /// length and, for booleans, that every byte is 0 or 1.
    func storage(_ bytes: [UInt8], from start: Int, count: Int) -> NDArray.Storage {
      switch self {
      case .float32:
        .float32(
          bytes.loadValues(at: start, count: count) { Float(bitPattern: UInt32(littleEndian: $0)) })
      case .float64:
        .float64(
          bytes.loadValues(at: start, count: count) { Double(bitPattern: UInt64(littleEndian: $0)) }
        )
      case .uint8: .uint8(Array(bytes[start...]))
      case .int32: .int32(bytes.loadValues(at: start, count: count) { Int32(littleEndian: $0) })
      case .int64: .int64(bytes.loadValues(at: start, count: count) { Int64(littleEndian: $0) })
      case .bool: .bool(bytes[start...].map { $0 != 0 })
      case .unicode: preconditionFailure("strings are read by strings(_:from:count:length:file:)")
      }
    }
  }
}
