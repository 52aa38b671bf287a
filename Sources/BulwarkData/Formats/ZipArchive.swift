/// The subset of the zip format (PKWARE APPNOTE 6.3) that NumPy's `.npz` files use: stored and
/// deflated members, zip64 extensions, read through the central directory.
enum ZipArchive {
  /// One member as the central directory describes it.
  struct Member: Equatable {
    var name: String
    var method: UInt16
    var crc: UInt32
    var compressedSize: Int
    var size: Int
    var localHeaderOffset: Int
  }

  static let localHeaderSignature: UInt32 = 0x0403_4b50
  static let centralHeaderSignature: UInt32 = 0x0201_4b50
  static let endSignature: UInt32 = 0x0605_4b50
  static let zip64EndSignature: UInt32 = 0x0606_4b50
  static let zip64LocatorSignature: UInt32 = 0x0706_4b50

  // MARK: Reading

  /// The members listed in the central directory of the zip file `bytes`, in order.
  /// - Throws: `FormatError` when the end record, the central directory or a zip64 record is
  ///   missing, truncated or inconsistent.
  static func members(of bytes: [UInt8], file: String) throws(FormatError) -> [Member] {
    func fail(_ offset: Int, _ expected: String, _ found: String) -> FormatError {
      FormatError(file: file, location: .offset(offset), expected: expected, found: found)
    }
    guard let end = endRecordOffset(bytes) else {
      throw fail(
        max(0, bytes.count - 22), "a zip end of central directory record",
        "none: the file is truncated or not a zip archive")
    }
    var count = Int(bytes.littleEndianUInt16(at: end + 10))
    var directorySize = Int(bytes.littleEndianUInt32(at: end + 12))
    var directoryOffset = Int(bytes.littleEndianUInt32(at: end + 16))
    if count == 0xffff || directorySize == 0xffff_ffff || directoryOffset == 0xffff_ffff {
      let locator = end - 20
      guard locator >= 0, bytes.littleEndianUInt32(at: locator) == zip64LocatorSignature else {
        throw fail(max(0, locator), "a zip64 end of central directory locator", "none")
      }
      let record64 = bytes.littleEndianUInt64(at: locator + 8)
      guard locator >= 56, record64 <= UInt64(locator - 56),
        bytes.littleEndianUInt32(at: Int(record64)) == zip64EndSignature
      else {
        throw fail(
          locator + 8, "the offset of a zip64 end of central directory record",
          "\(record64)")
      }
      let record = Int(record64)
      let values = [32, 40, 48].map { bytes.littleEndianUInt64(at: record + $0) }
      guard values.allSatisfy({ $0 <= UInt64(bytes.count) }) else {
        throw fail(record + 32, "zip64 directory sizes within the file", "\(values)")
      }
      (count, directorySize, directoryOffset) = (Int(values[0]), Int(values[1]), Int(values[2]))
    }
    guard directoryOffset <= end, directorySize <= end - directoryOffset else {
      throw fail(
        end + 12, "a central directory inside the file",
        "\(directorySize) bytes at offset \(directoryOffset)")
    }
    var members: [Member] = []
    var position = directoryOffset
    for _ in 0..<count {
      guard directoryOffset + directorySize - position >= 46,
        bytes.littleEndianUInt32(at: position) == centralHeaderSignature
      else {
        throw fail(position, "a central directory file header (PK 01 02)", "other bytes")
      }
      let member = try centralEntry(bytes, at: position, file: file)
      members.append(member.member)
      position = member.next
      guard position <= directoryOffset + directorySize else {
        throw fail(position, "a central directory of \(directorySize) bytes", "longer entries")
      }
    }
    return members
  }

  /// The uncompressed contents of `member`, its CRC-32 checked.
  /// - Throws: `FormatError` at the member when the local header is missing or disagrees, the
  ///   data is truncated, corrupt, encrypted or compressed with another method, or its CRC-32
  ///   does not match.
  static func contents(
    of member: Member, in bytes: [UInt8], file: String
  ) throws(FormatError) -> [UInt8] {
    let stored = try storedData(of: member, in: bytes, file: file)
    let data: [UInt8]
    switch member.method {
    case 0:
      data = Array(stored)
    default:
      data = try Zlib.inflateRaw(
        Array(stored), expectedSize: member.size, file: file, member: member.name)
    }
    let crc = Zlib.crc32(data)
    guard crc == member.crc else {
      throw FormatError(
        file: file, location: .field(member.name), expected: "CRC-32 \(hexLiteral(member.crc))",
        found: "\(hexLiteral(crc)) computed from the data")
    }
    return data
  }

  /// The first `count` uncompressed bytes of `member` (all of them when it is shorter),
  /// inflating no further: enough to read a header and judge the declared size before the
  /// whole member is decompressed.
  /// - Throws: `FormatError` at the member as ``contents(of:in:file:)`` does, except that the
  ///   CRC-32 and the total size are left to it.
  static func prefix(
    of member: Member, count: Int, in bytes: [UInt8], file: String
  ) throws(FormatError) -> [UInt8] {
    let stored = try storedData(of: member, in: bytes, file: file)
    switch member.method {
    case 0:
      return Array(stored.prefix(count))
    default:
      return try Zlib.inflateRawPrefix(
        Array(stored), count: count, file: file, member: member.name)
    }
  }

  /// The bytes `member` occupies in the archive, compressed or not, after its local header.
  /// - Throws: `FormatError` at the member when the local header is missing or disagrees, the
  ///   data is truncated, or the method is neither stored nor deflate.
  private static func storedData(
    of member: Member, in bytes: [UInt8], file: String
  ) throws(FormatError) -> ArraySlice<UInt8> {
    func fail(_ expected: String, _ found: String) -> FormatError {
      FormatError(file: file, location: .field(member.name), expected: expected, found: found)
    }
    let local = member.localHeaderOffset
    guard bytes.count - local >= 30,
      bytes.littleEndianUInt32(at: local) == localHeaderSignature
    else {
      throw fail("a local file header (PK 03 04) at offset \(local)", "other bytes")
    }
    let nameLength = Int(bytes.littleEndianUInt16(at: local + 26))
    let extraLength = Int(bytes.littleEndianUInt16(at: local + 28))
    let dataStart = local + 30 + nameLength + extraLength
    guard bytes.count >= dataStart,
      bytes[(local + 30)..<(local + 30 + nameLength)].elementsEqual(member.name.utf8)
    else {
      throw fail("a local header naming '\(member.name)'", "another name")
    }
    guard bytes.count - dataStart >= member.compressedSize else {
      throw fail(
        "\(member.compressedSize) bytes of data at offset \(dataStart)",
        "\(bytes.count - dataStart) bytes before the end of the file")
    }
    switch member.method {
    case 0:
      guard member.compressedSize == member.size else {
        throw fail("equal sizes for a stored member", "\(member.compressedSize) and \(member.size)")
      }
    case 8:
      break
    default:
      throw fail("compression method 0 (stored) or 8 (deflate)", "\(member.method)")
    }
    return bytes[dataStart..<(dataStart + member.compressedSize)]
  }

  /// The offset of the end of central directory record: the last signature whose comment
  /// length reaches exactly the end of the file.
  private static func endRecordOffset(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 22 else { return nil }
    let lowest = max(0, bytes.count - 22 - Int(UInt16.max))
    for offset in stride(from: bytes.count - 22, through: lowest, by: -1)
    where bytes.littleEndianUInt32(at: offset) == endSignature
      && Int(bytes.littleEndianUInt16(at: offset + 20)) == bytes.count - offset - 22
    {
      return offset
    }
    return nil
  }

  /// Parses the central directory file header at `position`, which has 46 bytes.
  private static func centralEntry(
    _ bytes: [UInt8], at position: Int, file: String
  ) throws(FormatError) -> (member: Member, next: Int) {
    func fail(_ offset: Int, _ expected: String, _ found: String) -> FormatError {
      FormatError(file: file, location: .offset(offset), expected: expected, found: found)
    }
    let flags = bytes.littleEndianUInt16(at: position + 8)
    let nameLength = Int(bytes.littleEndianUInt16(at: position + 28))
    let extraLength = Int(bytes.littleEndianUInt16(at: position + 30))
    let commentLength = Int(bytes.littleEndianUInt16(at: position + 32))
    let nameStart = position + 46
    let next = nameStart + nameLength + extraLength + commentLength
    guard bytes.count >= next else {
      throw fail(position + 28, "a central directory entry inside the file", "longer fields")
    }
    let nameBytes = bytes[nameStart..<(nameStart + nameLength)]
    // Without the UTF-8 flag (bit 11) names are CP437; NumPy's names are ASCII either way.
    let name = String(decoding: nameBytes, as: UTF8.self)
    guard flags & 1 == 0 else {
      throw FormatError(
        file: file, location: .field(name), expected: "an unencrypted member",
        found: "an encrypted one")
    }
    var size = UInt64(bytes.littleEndianUInt32(at: position + 24))
    var compressedSize = UInt64(bytes.littleEndianUInt32(at: position + 20))
    var offset = UInt64(bytes.littleEndianUInt32(at: position + 42))
    // The zip64 extra field holds, in this order, those of the three that overflowed.
    var extra = nameStart + nameLength
    let extraEnd = extra + extraLength
    while extraEnd - extra >= 4 {
      let id = bytes.littleEndianUInt16(at: extra)
      let length = Int(bytes.littleEndianUInt16(at: extra + 2))
      guard extraEnd - extra - 4 >= length else {
        throw fail(extra, "an extra field inside its entry", "\(length) bytes")
      }
      if id == 1 {
        var field = extra + 4
        let fieldEnd = field + length
        func nextValue() throws(FormatError) -> UInt64 {
          guard fieldEnd - field >= 8 else {
            throw fail(field, "8 more bytes in the zip64 extra field", "\(fieldEnd - field)")
          }
          field += 8
          return bytes.littleEndianUInt64(at: field - 8)
        }
        if size == 0xffff_ffff { size = try nextValue() }
        if compressedSize == 0xffff_ffff { compressedSize = try nextValue() }
        if offset == 0xffff_ffff { offset = try nextValue() }
      }
      extra += 4 + length
    }
    let limit = UInt64(bytes.count)
    guard size <= UInt64(Int.max), compressedSize <= limit, offset <= limit else {
      throw FormatError(
        file: file, location: .field(name), expected: "sizes and offset within the archive",
        found: "size \(size), compressed \(compressedSize), offset \(offset)")
    }
    let member = Member(
      name: name, method: bytes.littleEndianUInt16(at: position + 10),
      crc: bytes.littleEndianUInt32(at: position + 16), compressedSize: Int(compressedSize),
      size: Int(size), localHeaderOffset: Int(offset))
    return (member, next)
  }

  // MARK: Writing

  /// A zip archive holding `files` in order, stored or deflated, dated 1980-01-01 so that equal
  /// contents give equal bytes.
  /// - Parameters:
  ///   - files: Member names and contents.
  ///   - compressed: Whether to deflate the members.
  ///   - forceZip64: Whether to write zip64 records even when the sizes do not need them.
  /// - Returns: The zip file's bytes.
  static func encode(
    _ files: [(name: String, data: [UInt8])], compressed: Bool, forceZip64: Bool = false
  ) -> [UInt8] {
    var bytes: [UInt8] = []
    var directory: [UInt8] = []
    let marker: UInt32 = 0xffff_ffff
    for (name, data) in files {
      let nameBytes = Array(name.utf8)
      precondition(nameBytes.count <= Int(UInt16.max), "zip member name too long")
      let stored = compressed ? Zlib.deflateRaw(data) : data
      let crc = Zlib.crc32(data)
      let offset = bytes.count
      let zip64 =
        forceZip64 || data.count >= marker || stored.count >= marker || offset >= marker
      let version: UInt16 = zip64 ? 45 : 20
      let flags: UInt16 = nameBytes.allSatisfy { $0 < 0x80 } ? 0 : 0x0800
      let method: UInt16 = compressed ? 8 : 0
      func header(_ out: inout [UInt8], sizes: Bool) {
        out.appendLittleEndian(version)
        out.appendLittleEndian(flags)
        out.appendLittleEndian(method)
        out.appendLittleEndian(UInt16(0))  // time 00:00:00
        out.appendLittleEndian(UInt16(0x21))  // date 1980-01-01
        out.appendLittleEndian(crc)
        out.appendLittleEndian(zip64 ? marker : UInt32(stored.count))
        out.appendLittleEndian(zip64 ? marker : UInt32(data.count))
        out.appendLittleEndian(UInt16(nameBytes.count))
        out.appendLittleEndian(UInt16(zip64 ? (sizes ? 28 : 20) : 0))
      }
      bytes.appendLittleEndian(localHeaderSignature)
      header(&bytes, sizes: false)
      bytes += nameBytes
      if zip64 {
        bytes.appendLittleEndian(UInt16(1))
        bytes.appendLittleEndian(UInt16(16))
        bytes.appendLittleEndian(UInt64(data.count))
        bytes.appendLittleEndian(UInt64(stored.count))
      }
      bytes += stored

      directory.appendLittleEndian(centralHeaderSignature)
      directory.appendLittleEndian(0x0300 | version)  // made on Unix
      header(&directory, sizes: true)
      directory.appendLittleEndian(UInt16(0))  // comment length
      directory.appendLittleEndian(UInt16(0))  // disk
      directory.appendLittleEndian(UInt16(0))  // internal attributes
      directory.appendLittleEndian(UInt32(0o100644) << 16)  // regular file, rw-r--r--
      directory.appendLittleEndian(zip64 ? marker : UInt32(offset))
      directory += nameBytes
      if zip64 {
        directory.appendLittleEndian(UInt16(1))
        directory.appendLittleEndian(UInt16(24))
        directory.appendLittleEndian(UInt64(data.count))
        directory.appendLittleEndian(UInt64(stored.count))
        directory.appendLittleEndian(UInt64(offset))
      }
    }
    let directoryOffset = bytes.count
    bytes += directory
    let count = files.count
    let zip64End =
      forceZip64 || count >= 0xffff || directory.count >= marker || directoryOffset >= marker
    if zip64End {
      let record = bytes.count
      bytes.appendLittleEndian(zip64EndSignature)
      bytes.appendLittleEndian(UInt64(44))  // size of the rest of the record
      bytes.appendLittleEndian(UInt16(0x032d))
      bytes.appendLittleEndian(UInt16(45))
      bytes.appendLittleEndian(UInt32(0))  // disk
      bytes.appendLittleEndian(UInt32(0))  // disk with the directory
      bytes.appendLittleEndian(UInt64(count))
      bytes.appendLittleEndian(UInt64(count))
      bytes.appendLittleEndian(UInt64(directory.count))
      bytes.appendLittleEndian(UInt64(directoryOffset))
      bytes.appendLittleEndian(zip64LocatorSignature)
      bytes.appendLittleEndian(UInt32(0))
      bytes.appendLittleEndian(UInt64(record))
      bytes.appendLittleEndian(UInt32(1))  // total disks
    }
    bytes.appendLittleEndian(endSignature)
    bytes.appendLittleEndian(UInt16(0))
    bytes.appendLittleEndian(UInt16(0))
    bytes.appendLittleEndian(zip64End ? UInt16(0xffff) : UInt16(count))
    bytes.appendLittleEndian(zip64End ? UInt16(0xffff) : UInt16(count))
    bytes.appendLittleEndian(zip64End ? marker : UInt32(directory.count))
    bytes.appendLittleEndian(zip64End ? marker : UInt32(directoryOffset))
    bytes.appendLittleEndian(UInt16(0))  // comment length
    return bytes
  }
}
