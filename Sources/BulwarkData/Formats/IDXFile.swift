import BulwarkCore
import Foundation

/// Reader for IDX files, the format of MNIST and Fashion-MNIST, raw or gzipped.
///
/// An IDX file is two zero bytes, a data type byte, a dimension count byte, one big-endian
/// `UInt32` per dimension, then the values in C order, big-endian
/// (Y. LeCun et al., <http://yann.lecun.com/exdb/mnist/>).
public enum IDXFile {
  /// Reads an IDX file, gunzipping it first when it starts with the gzip magic number.
  /// - Parameter url: The file, e.g. `train-images-idx3-ubyte.gz`.
  /// - Returns: The array: `.uint8` for unsigned bytes, `.int32` for signed bytes, shorts and
  ///   ints (widened), `.float32` and `.float64` for floats and doubles.
  /// - Throws: `FileAccessError` when the file cannot be read; `FormatError` when its
  ///   compression is corrupt or its IDX structure is malformed.
  public static func read(from url: URL) throws -> NDArray {
    let path = url.path
    var bytes = [UInt8](try FileAccess.contents(of: url))
    if Zlib.isGzip(bytes) {
      // The header says how long the file is: inflate no more than that, so that a small file
      // cannot claim gigabytes of memory.
      let header = try Zlib.gunzipPrefix(bytes, count: 4 + 4 * 255, file: path)
      guard let length = length(ofFileWithHeader: header) else {
        return try decode(header, file: path)
      }
      bytes = try Zlib.gunzip(bytes, file: path, maximumSize: length)
    }
    return try decode(bytes, file: path)
  }

  /// The length of the IDX file that `header` (its first bytes) starts, or nil when the header
  /// is incomplete or malformed (``decode(_:file:)`` words why).
  static func length(ofFileWithHeader header: [UInt8]) -> Int? {
    guard header.count >= 4, header[0] == 0, header[1] == 0,
      let elementType = ElementType(rawValue: header[2])
    else { return nil }
    let dataStart = 4 + 4 * Int(header[3])
    guard header.count >= dataStart else { return nil }
    var length = elementType.size
    for axis in 0..<Int(header[3]) {
      let (product, overflow) = length.multipliedReportingOverflow(
        by: Int(header.bigEndianUInt32(at: 4 + 4 * axis)))
      guard !overflow else { return nil }
      length = product
    }
    let (total, overflow) = length.addingReportingOverflow(dataStart)
    return overflow ? nil : total
  }

  /// Decodes the bytes of an uncompressed IDX file.
  /// - Parameters:
  ///   - bytes: The file's contents.
  ///   - file: The file's name, for error messages.
  /// - Returns: The array, typed as described in ``read(from:)``.
  /// - Throws: `FormatError` naming the offset when the magic number, the data type, the
  ///   dimensions or the file length is wrong.
  /// - Complexity: O(n) in the file length.
  public static func decode(_ bytes: [UInt8], file: String) throws(FormatError) -> NDArray {
    guard bytes.count >= 4 else {
      throw FormatError(
        file: file, location: .whole, expected: "at least the 4-byte IDX magic number",
        found: "\(bytes.count) bytes")
    }
    guard bytes[0] == 0, bytes[1] == 0 else {
      throw FormatError(
        file: file, location: .offset(0), expected: "IDX magic number starting 00 00",
        found: "\(hexLiteral(bytes[0])) \(hexLiteral(bytes[1]))")
    }
    let typeCode = bytes[2]
    guard let elementType = ElementType(rawValue: typeCode) else {
      throw FormatError(
        file: file, location: .offset(2),
        expected: "an IDX data type (0x08 u8, 0x09 i8, 0x0b i16, 0x0c i32, 0x0d f32, 0x0e f64)",
        found: hexLiteral(typeCode))
    }
    let rank = Int(bytes[3])
    let dataStart = 4 + 4 * rank
    guard bytes.count >= dataStart else {
      throw FormatError(
        file: file, location: .offset(bytes.count),
        expected: "\(rank) big-endian dimension sizes (\(dataStart) header bytes)",
        found: "the end of the file")
    }
    var shape: [Int] = []
    var count = 1
    var overflow = false
    for axis in 0..<rank {
      let size = Int(bytes.bigEndianUInt32(at: 4 + 4 * axis))
      shape.append(size)
      if !overflow { (count, overflow) = count.multipliedReportingOverflow(by: size) }
    }
    let (dataLength, lengthOverflow) = count.multipliedReportingOverflow(
      by: elementType.size)
    guard !overflow, !lengthOverflow, bytes.count - dataStart == dataLength else {
      let shapeText = shape.map(String.init).joined(separator: " x ")
      let expected =
        overflow || lengthOverflow
        ? "dimensions \(shapeText) whose size fits in memory"
        : "\(dataLength) data bytes for \(shapeText) \(elementType.name) values"
      throw FormatError(
        file: file, location: .offset(dataStart), expected: expected,
        found: "\(bytes.count - dataStart) bytes after the header")
    }
    return NDArray(
      shape: shape, storage: elementType.storage(bytes, from: dataStart, count: count))
  }

  /// The IDX data types and how each one is stored in an `NDArray`.
  enum ElementType: UInt8 {
    case uint8 = 0x08
    case int8 = 0x09
    case int16 = 0x0b
    case int32 = 0x0c
    case float32 = 0x0d
    case float64 = 0x0e

    var size: Int {
      switch self {
      case .uint8, .int8: 1
      case .int16: 2
      case .int32, .float32: 4
      case .float64: 8
      }
    }

    var name: String {
      switch self {
      case .uint8: "unsigned byte"
      case .int8: "signed byte"
      case .int16: "short"
      case .int32: "int"
      case .float32: "float"
      case .float64: "double"
      }
    }

    /// Converts `count` big-endian values starting at `start`; the caller checked the length.
    func storage(_ bytes: [UInt8], from start: Int, count: Int) -> NDArray.Storage {
      switch self {
      case .uint8:
        return .uint8(Array(bytes[start...]))
      case .int8:
        return .int32(bytes[start...].map { Int32(Int8(bitPattern: $0)) })
      case .int16:
        return .int32(
          bytes.loadValues(at: start, count: count) {
            Int32(Int16(bitPattern: UInt16(bigEndian: $0)))
          })
      case .int32:
        return .int32(
          bytes.loadValues(at: start, count: count) { Int32(bitPattern: UInt32(bigEndian: $0)) })
      case .float32:
        return .float32(
          bytes.loadValues(at: start, count: count) { Float(bitPattern: UInt32(bigEndian: $0)) })
      case .float64:
        return .float64(
          bytes.loadValues(at: start, count: count) { Double(bitPattern: UInt64(bigEndian: $0)) })
      }
    }
  }
}
