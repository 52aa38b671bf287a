extension PNGCodec {
  /// Images of more bytes than this are allocated only once their compressed data has been
  /// inflated (and thrown away) far enough to show that the file holds them.
  static let uncheckedImageBytes = 1 << 24

  /// The fewest bytes a file's image data can inflate to, from its header: every pixel's bits,
  /// whatever the interlacing (rows' filter bytes only add to it).
  /// - Parameter bytes: A stream whose header libpng has accepted (so `IHDR` comes first).
  static func leastImageDataCount(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
    func word(at offset: Int) -> Int {
      (0..<4).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
    }
    // Samples per pixel by colour type: grey, -, RGB, palette, grey and alpha, -, RGBA.
    let samples = [1, 0, 3, 1, 2, 0, 4]
    let bitDepth = Int(bytes[24])
    let colorType = Int(bytes[25])
    let bitsPerPixel = bitDepth * (colorType < samples.count ? samples[colorType] : 1)
    return word(at: 16) * word(at: 20) * bitsPerPixel / 8
  }

  /// How many bytes the file's `IDAT` chunks inflate to, counted up to `limit`; chunks cut
  /// short by the end of the file count as far as they go.
  static func inflatedImageDataCount(_ bytes: UnsafeBufferPointer<UInt8>, upTo limit: Int) -> Int {
    var pieces: [UnsafeRawBufferPointer] = []
    var offset = 8
    while offset + 8 <= bytes.count {
      let length = (0..<4).reduce(0) { $0 << 8 | Int(bytes[offset + $1]) }
      let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
      let start = offset + 8
      let end = min(bytes.count, start + length)
      if type == "IDAT" {
        pieces.append(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[start..<end])))
      } else if type == "IEND" {
        break
      }
      offset = end + 4
    }
    return Zlib.inflatedCount(ofZlibPieces: pieces, upTo: limit)
  }
}
