extension PNGCodec {
  /// Images of more bytes than this are allocated only once their compressed data has been
  /// inflated (and thrown away) far enough to show that the file holds them.
  static let uncheckedImageBytes = 1 << 24

  /// The eight bytes every PNG stream starts with.
  static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

  /// Walks the stream's chunks up to `IEND` and returns where its image data (the `IDAT`
  /// chunks' contents) lies. libpng allocates a chunk's declared length before it reads the
  /// chunk, so a length the file cannot hold is refused here first.
  /// - Parameter bytes: The whole stream; one that does not start with the signature is left to
  ///   libpng to name (no ranges).
  /// - Returns: The byte ranges of the `IDAT` chunks' data, in order.
  /// - Throws: `PNGError` for a chunk that runs past the end of the stream.
  static func imageDataRanges(in bytes: [UInt8]) throws(PNGError) -> [Range<Int>] {
    guard bytes.starts(with: signature) else { return [] }
    var ranges: [Range<Int>] = []
    var offset = signature.count
    while offset < bytes.count {
      let remaining = bytes.count - offset
      guard remaining >= 12 else {
        throw PNGError(
          operation: .decoding,
          message: "expected a chunk of at least 12 bytes at byte \(offset), found \(remaining) "
            + "bytes: a truncated file")
      }
      let length = Int(bytes.bigEndianUInt32(at: offset))
      let type = printableText(String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self))
      guard length <= remaining - 12 else {
        throw PNGError(
          operation: .decoding,
          message: "chunk '\(type)' at byte \(offset) declares \(length) bytes of data, but the "
            + "file has \(remaining - 12) left for it: a truncated file or a corrupt length")
      }
      switch type {
      case "IDAT": ranges.append(offset + 8..<offset + 8 + length)
      case "IEND": return ranges
      default: break
      }
      offset += 12 + length
    }
    return ranges
  }

  /// The fewest bytes a file's image data can inflate to, from its header: every pixel's bits,
  /// whatever the interlacing (rows' filter bytes only add to it).
  /// - Parameter bytes: A stream whose header libpng has accepted (so `IHDR` comes first).
  /// - Returns: Width x height x bits per pixel / 8, rounded down.
  static func leastImageDataCount(_ bytes: [UInt8]) -> Int {
    // Samples per pixel by colour type: grey, -, RGB, palette, grey and alpha, -, RGBA.
    let samples = [1, 0, 3, 1, 2, 0, 4]
    let bitDepth = Int(bytes[24])
    let colorType = Int(bytes[25])
    let bitsPerPixel = bitDepth * (colorType < samples.count ? samples[colorType] : 1)
    let (width, height) = (Int(bytes.bigEndianUInt32(at: 16)), Int(bytes.bigEndianUInt32(at: 20)))
    return width * height * bitsPerPixel / 8
  }

  /// How many bytes the image data at `ranges` inflates to, counted up to `limit`.
  static func inflatedCount(
    of ranges: [Range<Int>], in bytes: UnsafeBufferPointer<UInt8>, upTo limit: Int
  ) -> Int {
    let pieces = ranges.map { UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[$0])) }
    return Zlib.inflatedCount(ofZlibPieces: pieces, upTo: limit)
  }
}
