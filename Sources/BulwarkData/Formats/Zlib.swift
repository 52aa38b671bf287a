internal import CZlib

/// Deflate compression, gzip decompression and CRC-32 through the system zlib.
///
/// Gzip members are parsed here (RFC 1952) and their deflate data (RFC 1951) inflated by zlib, so
/// every error can name the byte offset at which the file goes wrong.
public enum Zlib {
  /// Deflate cannot expand data by more than this factor (258 bytes from a 2-bit code), so a
  /// stream claiming more is refused before anything is allocated.
  static let maximumRatio = 1032

  /// The most bytes one decompression may produce, whatever the input claims.
  public static let maximumOutput = 1 << 34

  /// Whether `bytes` starts with the gzip magic number `1f 8b`.
  /// - Parameter bytes: The start of a file, or all of it.
  /// - Returns: `true` when the first two bytes are `1f 8b`.
  public static func isGzip(_ bytes: [UInt8]) -> Bool {
    bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
  }

  /// Decompresses a gzip file: one member or several concatenated ones.
  ///
  /// Each member's CRC-32 and length trailer is checked. The last member's length field sizes
  /// the output buffer, which grows when the field understates it.
  /// - Parameters:
  ///   - bytes: The gzip file.
  ///   - file: The file's name, for error messages.
  ///   - maximumSize: The most decompressed bytes accepted (what the caller's format says the
  ///     contents hold), so a small file cannot claim gigabytes of memory.
  /// - Returns: The concatenated contents of all members.
  /// - Throws: `FormatError` with the offset of the first malformed byte when the file is
  ///   truncated, not gzip, corrupt, fails its checksum or length check, or would decompress to
  ///   more than `maximumSize` bytes or 16 GiB.
  public static func gunzip(
    _ bytes: [UInt8], file: String, maximumSize: Int = maximumOutput
  ) throws(FormatError) -> [UInt8] {
    guard isGzip(bytes) else {
      let found = bytes.prefix(2).map { hexLiteral($0) }.joined(separator: " ")
      throw FormatError(
        file: file, location: .offset(0), expected: "gzip magic 1f 8b",
        found: found.isEmpty ? "an empty file" : found)
    }
    let limit = min(outputLimit(compressedCount: bytes.count), max(maximumSize, 0))
    let sizeHint = bytes.count >= 18 ? Int(bytes.littleEndianUInt32(at: bytes.count - 4)) : 0
    var output = [UInt8](repeating: 0, count: min(max(sizeHint, 1 << 16), limit))
    var produced = 0
    var offset = 0
    while offset < bytes.count {
      guard bytes.count - offset >= 2, bytes[offset] == 0x1f, bytes[offset + 1] == 0x8b else {
        throw FormatError(
          file: file, location: .offset(offset),
          expected: "another gzip member (1f 8b) or the end of the file",
          found: "\(bytes.count - offset) trailing bytes")
      }
      let dataStart = try memberDataStart(bytes, at: offset, file: file)
      let memberStart = produced
      let inflated = bytes.withUnsafeBytes { all in
        Result { () throws(InflateFailure) in
          try inflate(
            UnsafeRawBufferPointer(rebasing: all[dataStart...]), into: &output, at: produced,
            limit: limit)
        }
      }
      let (consumed, end): (Int, Int)
      switch inflated {
      case .success(let result): (consumed, end) = result
      case .failure(.tooLarge(let at)):
        throw FormatError(
          file: file, location: .offset(dataStart + at),
          expected: "at most \(limit) decompressed bytes", found: "more")
      case .failure(let failure):
        throw failure.formatError(
          file: file, location: .offset(dataStart + failure.inputOffset))
      }
      produced = end
      let trailer = dataStart + consumed
      guard bytes.count - trailer >= 8 else {
        throw FormatError(
          file: file, location: .offset(bytes.count), expected: "the 8-byte gzip trailer",
          found: "\(bytes.count - trailer) bytes")
      }
      let storedCRC = bytes.littleEndianUInt32(at: trailer)
      let crc = output.withUnsafeBytes {
        crc32(UnsafeRawBufferPointer(rebasing: $0[memberStart..<end]), continuing: 0)
      }
      guard crc == storedCRC else {
        throw FormatError(
          file: file, location: .offset(trailer), expected: "CRC-32 \(hexLiteral(storedCRC))",
          found: "\(hexLiteral(crc)) computed from the decompressed data")
      }
      let storedSize = bytes.littleEndianUInt32(at: trailer + 4)
      let size = UInt32(truncatingIfNeeded: end - memberStart)
      guard size == storedSize else {
        throw FormatError(
          file: file, location: .offset(trailer + 4),
          expected: "decompressed length \(storedSize) (mod 2^32)", found: "\(size)")
      }
      offset = trailer + 8
    }
    output.removeLast(output.count - produced)
    return output
  }

  /// The first `count` decompressed bytes of a gzip file's first member (fewer when it holds
  /// fewer): enough to read a header without inflating the whole file.
  /// - Parameters:
  ///   - bytes: The gzip file.
  ///   - count: How many bytes to produce at most.
  ///   - file: The file's name, for error messages.
  /// - Returns: Up to `count` bytes.
  /// - Throws: `FormatError` when the gzip header or the data read so far is malformed.
  static func gunzipPrefix(
    _ bytes: [UInt8], count: Int, file: String
  ) throws(FormatError) -> [UInt8] {
    let dataStart = try memberDataStart(bytes, at: 0, file: file)
    return try inflateRawPrefix(Array(bytes[dataStart...]), count: count, file: file, member: "")
  }

  /// Inflates raw deflate data (no zlib or gzip wrapper), as stored in zip entries.
  /// - Parameters:
  ///   - bytes: The compressed data.
  ///   - expectedSize: The exact number of bytes the data must decompress to.
  ///   - file: The archive's name, for error messages.
  ///   - member: The entry's name, for error messages.
  /// - Returns: Exactly `expectedSize` bytes.
  /// - Throws: `FormatError` at the member's field when the data is corrupt or truncated,
  ///   decompresses to another length, or claims an impossible expansion.
  public static func inflateRaw(
    _ bytes: [UInt8], expectedSize: Int, file: String, member: String
  ) throws(FormatError) -> [UInt8] {
    precondition(expectedSize >= 0, "negative expected size")
    let limit = outputLimit(compressedCount: bytes.count)
    guard expectedSize < limit else {
      throw FormatError(
        file: file, location: .field(member),
        expected: "at most \(limit) bytes from \(bytes.count) compressed bytes",
        found: "a declared size of \(expectedSize) bytes")
    }
    // One spare byte reveals data that runs past the declared size.
    var output = [UInt8](repeating: 0, count: expectedSize + 1)
    let inflated = bytes.withUnsafeBytes { input in
      Result { () throws(InflateFailure) in
        try inflate(input, into: &output, at: 0, limit: expectedSize + 1).end
      }
    }
    let end: Int
    switch inflated {
    case .success(let result): end = result
    case .failure(.tooLarge):
      throw FormatError(
        file: file, location: .field(member),
        expected: "\(expectedSize) decompressed bytes", found: "more")
    case .failure(let failure):
      throw failure.formatError(file: file, location: .field(member))
    }
    guard end == expectedSize else {
      throw FormatError(
        file: file, location: .field(member),
        expected: "\(expectedSize) decompressed bytes", found: "\(end)")
    }
    output.removeLast()
    return output
  }

  /// Inflates the first `count` bytes of raw deflate data and stops: a reader judges a
  /// header before it decompresses, and allocates for, the whole stream.
  /// - Parameters:
  ///   - bytes: The compressed data.
  ///   - count: How many decompressed bytes to produce at most.
  ///   - file: The archive's name, for error messages.
  ///   - member: The entry's name, for error messages.
  /// - Returns: `count` bytes, or fewer when the stream ends before.
  /// - Throws: `FormatError` at the member's field when the data read so far is corrupt or
  ///   ends early.
  static func inflateRawPrefix(
    _ bytes: [UInt8], count: Int, file: String, member: String
  ) throws(FormatError) -> [UInt8] {
    var output = [UInt8](repeating: 0, count: max(count, 0))
    let inflated = bytes.withUnsafeBytes { input in
      Result { () throws(InflateFailure) in
        try inflate(input, into: &output, at: 0, limit: output.count).end
      }
    }
    switch inflated {
    case .success(let end): return Array(output.prefix(end))
    case .failure(.tooLarge): return output
    case .failure(let failure): throw failure.formatError(file: file, location: .field(member))
    }
  }

  /// Compresses `bytes` to raw deflate data (no zlib or gzip wrapper), as stored in zip entries.
  /// - Parameters:
  ///   - bytes: The data to compress.
  ///   - level: The zlib compression level, 0 (stored) to 9 (smallest).
  /// - Returns: The deflate stream.
  /// - Precondition: `level` is in `0...9`.
  public static func deflateRaw(_ bytes: [UInt8], level: Int = 6) -> [UInt8] {
    precondition((0...9).contains(level), "zlib compression level must be 0...9")
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer {
      stream.deinitialize(count: 1)
      stream.deallocate()
    }
    let status = deflateInit2_(
      stream, Int32(level), Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
      Int32(MemoryLayout<z_stream>.size))
    precondition(status == Z_OK, "deflateInit2 failed with status \(status)")
    defer { deflateEnd(stream) }
    var output = [UInt8](
      repeating: 0, count: Int(deflateBound(stream, UInt(bytes.count))) + 64)
    var consumed = 0
    var produced = 0
    var finished = false
    while !finished {
      if produced == output.count {
        output.append(contentsOf: repeatElement(0, count: output.count))
      }
      bytes.withUnsafeBytes { input in
        output.withUnsafeMutableBytes { out in
          let inChunk = min(input.count - consumed, Int(UInt32.max))
          let outChunk = min(out.count - produced, Int(UInt32.max))
          let next = input.baseAddress.map { $0 + consumed }
          stream.pointee.next_in = UnsafeMutablePointer(
            mutating: next?.assumingMemoryBound(to: UInt8.self))
          stream.pointee.avail_in = UInt32(inChunk)
          stream.pointee.next_out = out.baseAddress.map {
            ($0 + produced).assumingMemoryBound(to: UInt8.self)
          }
          stream.pointee.avail_out = UInt32(outChunk)
          let flush = consumed + inChunk == input.count ? Z_FINISH : Z_NO_FLUSH
          let status = deflate(stream, flush)
          precondition(status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR)
          consumed += inChunk - Int(stream.pointee.avail_in)
          produced += outChunk - Int(stream.pointee.avail_out)
          finished = status == Z_STREAM_END
        }
      }
    }
    output.removeLast(output.count - produced)
    return output
  }

  /// The CRC-32 (ISO 3309, as in gzip and zip) of `bytes`, optionally continuing an earlier one.
  /// - Parameters:
  ///   - bytes: The data.
  ///   - crc: The CRC-32 of the data before `bytes`; 0 to start.
  /// - Returns: The CRC-32 of the earlier data followed by `bytes`.
  public static func crc32(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
    bytes.withUnsafeBytes { crc32($0, continuing: crc) }
  }

  /// The CRC-32 of a buffer, continuing `crc`.
  static func crc32(_ buffer: UnsafeRawBufferPointer, continuing crc: UInt32) -> UInt32 {
    guard let base = buffer.baseAddress else { return crc }
    var value = UInt(crc)
    var offset = 0
    while offset < buffer.count {
      let chunk = min(buffer.count - offset, 1 << 30)
      value = CZlib.crc32(value, (base + offset).assumingMemoryBound(to: UInt8.self), UInt32(chunk))
      offset += chunk
    }
    return UInt32(truncatingIfNeeded: value)
  }

  // MARK: Internals

  /// Why inflating stopped early; the offset counts from the start of the deflate data.
  enum InflateFailure: Error {
    case corrupt(String, inputOffset: Int)
    case truncated(inputOffset: Int)
    case tooLarge(inputOffset: Int)

    var inputOffset: Int {
      switch self {
      case .corrupt(_, let offset), .truncated(let offset), .tooLarge(let offset): offset
      }
    }

    func formatError(file: String, location: FormatError.Location) -> FormatError {
      switch self {
      case .corrupt(let message, let offset):
        FormatError(
          file: file, location: location, expected: "valid deflate data",
          found: "\(message) (at compressed byte \(offset))")
      case .truncated(let offset):
        FormatError(
          file: file, location: location, expected: "the rest of the deflate data",
          found: "the end of the data after \(offset) compressed bytes")
      case .tooLarge(let offset):
        FormatError(
          file: file, location: location,
          expected: "at most \(Zlib.maximumOutput) decompressed bytes",
          found: "more (at compressed byte \(offset))")
      }
    }
  }

  /// The largest output a stream of `compressedCount` bytes may produce.
  static func outputLimit(compressedCount: Int) -> Int {
    let (bound, overflow) = compressedCount.multipliedReportingOverflow(by: maximumRatio)
    return overflow ? maximumOutput : min(bound + 1024, maximumOutput)
  }

  /// Inflates one raw deflate stream from `input` into `output` starting at `start`, growing
  /// `output` (doubling, up to `limit` bytes) when it fills.
  /// - Returns: The input bytes the stream occupied and the end of its output in `output`.
  static func inflate(
    _ input: UnsafeRawBufferPointer, into output: inout [UInt8], at start: Int, limit: Int
  ) throws(InflateFailure) -> (consumed: Int, end: Int) {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer {
      stream.deinitialize(count: 1)
      stream.deallocate()
    }
    let initStatus = inflateInit2_(
      stream, -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    precondition(initStatus == Z_OK, "inflateInit2 failed with status \(initStatus)")
    defer { inflateEnd(stream) }
    var consumed = 0
    var end = start
    while true {
      if end == output.count {
        guard output.count < limit else { throw .tooLarge(inputOffset: consumed) }
        let grown = min(limit, max(output.count * 2, output.count + (1 << 16)))
        output.append(contentsOf: repeatElement(0, count: grown - output.count))
      }
      let inChunk = min(input.count - consumed, Int(UInt32.max))
      let status = output.withUnsafeMutableBytes { out in
        let outChunk = min(out.count - end, Int(UInt32.max))
        let next = input.baseAddress.map { $0 + consumed }
        stream.pointee.next_in = UnsafeMutablePointer(
          mutating: next?.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(inChunk)
        stream.pointee.next_out = out.baseAddress.map {
          ($0 + end).assumingMemoryBound(to: UInt8.self)
        }
        stream.pointee.avail_out = UInt32(outChunk)
        let status = CZlib.inflate(stream, Z_NO_FLUSH)
        consumed += inChunk - Int(stream.pointee.avail_in)
        end += outChunk - Int(stream.pointee.avail_out)
        return status
      }
      switch status {
      case Z_STREAM_END:
        return (consumed, end)
      case Z_OK, Z_BUF_ERROR:
        // No progress possible without more input: the stream was cut short.
        if consumed == input.count && end < output.count {
          throw .truncated(inputOffset: consumed)
        }
      case Z_DATA_ERROR:
        let message = stream.pointee.msg.map { String(cString: $0) } ?? "corrupt data"
        throw .corrupt(message, inputOffset: consumed)
      default:
        throw .corrupt("zlib status \(status)", inputOffset: consumed)
      }
    }
  }

  /// Counts the bytes a zlib-wrapped stream (RFC 1950), given in consecutive pieces, inflates
  /// to without keeping them: a decoder can learn how much data a file really holds before it
  /// allocates for what the file's header claims.
  /// - Parameters:
  ///   - pieces: The compressed stream, in order (a PNG's IDAT chunks).
  ///   - limit: Counting stops once this many bytes have come out.
  /// - Returns: The bytes produced, at most `limit`, up to the stream's end, its first corrupt
  ///   byte or the end of the pieces, whichever comes first.
  static func inflatedCount(ofZlibPieces pieces: [UnsafeRawBufferPointer], upTo limit: Int) -> Int {
    let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
    stream.initialize(to: z_stream())
    defer {
      stream.deinitialize(count: 1)
      stream.deallocate()
    }
    let initStatus = inflateInit_(stream, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    precondition(initStatus == Z_OK, "inflateInit failed with status \(initStatus)")
    defer { inflateEnd(stream) }
    let scratchCount = 1 << 16
    let scratch = UnsafeMutablePointer<UInt8>.allocate(capacity: scratchCount)
    defer { scratch.deallocate() }
    var count = 0
    for piece in pieces where !piece.isEmpty {
      stream.pointee.next_in = UnsafeMutablePointer(
        mutating: piece.baseAddress?.assumingMemoryBound(to: UInt8.self))
      stream.pointee.avail_in = UInt32(min(piece.count, Int(UInt32.max)))
      // A full scratch buffer may leave output pending after the piece's last input byte.
      repeat {
        let room = min(scratchCount, limit - count)
        stream.pointee.next_out = scratch
        stream.pointee.avail_out = UInt32(room)
        let status = CZlib.inflate(stream, Z_NO_FLUSH)
        count += room - Int(stream.pointee.avail_out)
        guard status == Z_OK, count < limit else { return count }
      } while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0
    }
    return count
  }

  /// Checks a gzip member header (RFC 1952 section 2.3) at `offset`.
  /// - Returns: The offset of the member's deflate data.
  static func memberDataStart(
    _ bytes: [UInt8], at offset: Int, file: String
  ) throws(FormatError) -> Int {
    func need(_ count: Int, at position: Int, _ what: String) throws(FormatError) {
      guard bytes.count - position >= count else {
        throw FormatError(
          file: file, location: .offset(bytes.count), expected: what,
          found: "the end of the file")
      }
    }
    try need(10, at: offset, "a 10-byte gzip member header")
    guard bytes[offset + 2] == 8 else {
      throw FormatError(
        file: file, location: .offset(offset + 2), expected: "compression method 8 (deflate)",
        found: "\(bytes[offset + 2])")
    }
    let flags = bytes[offset + 3]
    guard flags & 0xe0 == 0 else {
      throw FormatError(
        file: file, location: .offset(offset + 3), expected: "gzip flags with reserved bits clear",
        found: hexLiteral(flags))
    }
    var position = offset + 10
    if flags & 0x04 != 0 {
      try need(2, at: position, "the gzip extra field length")
      let length = Int(bytes.littleEndianUInt16(at: position))
      try need(2 + length, at: position, "a gzip extra field of \(length) bytes")
      position += 2 + length
    }
    for (flag, what) in [(UInt8(0x08), "file name"), (0x10, "comment")] where flags & flag != 0 {
      guard let zero = bytes[position...].firstIndex(of: 0) else {
        throw FormatError(
          file: file, location: .offset(bytes.count),
          expected: "the zero byte ending the gzip \(what)", found: "the end of the file")
      }
      position = zero + 1
    }
    if flags & 0x02 != 0 {
      try need(2, at: position, "the gzip header CRC")
      let stored = bytes.littleEndianUInt16(at: position)
      let crc = UInt16(
        truncatingIfNeeded: bytes.withUnsafeBytes {
          crc32(UnsafeRawBufferPointer(rebasing: $0[offset..<position]), continuing: 0)
        })
      guard crc == stored else {
        throw FormatError(
          file: file, location: .offset(position), expected: "header CRC \(hexLiteral(stored))",
          found: hexLiteral(crc))
      }
      position += 2
    }
    return position
  }
}
