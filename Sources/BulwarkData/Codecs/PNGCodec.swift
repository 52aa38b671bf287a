internal import CPNG

/// Encodes and decodes 8-bit PNG in memory through the system's libpng (its simplified
/// `png_image` API, which reports errors instead of jumping).
///
/// Decoding keeps the file's channel layout: grey gives 1 channel, grey with alpha 2, RGB and
/// palette files 3, RGBA and palette files with transparency 4 (a `tRNS` chunk on a grey or RGB
/// file also adds an alpha channel). 16-bit samples are scaled to 8 bits. Unlike Pillow, libpng
/// converts a file that declares a gamma far from sRGB's (a `gAMA` chunk) to sRGB.
public enum PNGCodec {
  /// Compresses an 8-bit bitmap losslessly.
  /// - Parameter bitmap: 1 (grey), 2 (grey and alpha), 3 (RGB) or 4 (RGBA) channels.
  /// - Returns: A complete PNG stream.
  /// - Throws: `PNGError` for a byte count that does not match the bitmap's dimensions, a side
  ///   longer than 1,000,000 pixels, or a failure inside libpng.
  public static func encode(_ bitmap: Bitmap) throws(PNGError) -> [UInt8] {
    guard (1...4).contains(bitmap.channels) else {
      throw PNGError(
        operation: .encoding, message: "expected 1 to 4 channels, found \(bitmap.channels)")
    }
    guard (1...maximumSide).contains(bitmap.width), (1...maximumSide).contains(bitmap.height)
    else {
      throw PNGError(
        operation: .encoding,
        message: "expected 1 to \(maximumSide) pixels per side, found "
          + "\(bitmap.width)x\(bitmap.height)")
    }
    let rawCount = bitmap.width * bitmap.height * bitmap.channels
    guard bitmap.bytes.count == rawCount else {
      throw PNGError(
        operation: .encoding,
        message: "expected \(rawCount) bytes for \(bitmap.width)x\(bitmap.height)x"
          + "\(bitmap.channels) pixels, found \(bitmap.bytes.count)")
    }
    var capacity = streamSizeBound(rawCount: rawCount, height: bitmap.height)
    // libpng reports the size it needs when the bound was too small, so a second try suffices.
    for _ in 0..<2 {
      switch write(bitmap, capacity: capacity) {
      case .written(let stream): return stream
      case .needs(let size): capacity = size
      case .failed(let message): throw PNGError(operation: .encoding, message: message)
      }
    }
    throw PNGError(operation: .encoding, message: "libpng kept asking for a larger buffer")
  }

  /// Decompresses a PNG stream of any bit depth, colour type or interlacing.
  /// - Parameter bytes: The whole file.
  /// - Returns: An 8-bit bitmap with the file's channel layout (see `PNGCodec`).
  /// - Throws: `PNGError` for an empty, truncated or corrupt stream (bad signature, a chunk
  ///   longer than the bytes left, CRC error in a critical chunk, broken compressed data), an
  ///   image of more than 178,956,970 pixels
  ///   (Pillow's decompression-bomb limit), or one whose rows the file is too short to hold even
  ///   at deflate's largest expansion, or (for images of more than 16 MiB) whose compressed data
  ///   inflates to fewer bytes than its pixels need; both are checked before the image is
  ///   allocated, so a forged header cannot make the decoder allocate what the file lacks.
  public static func decode(_ bytes: [UInt8]) throws(PNGError) -> Bitmap {
    guard !bytes.isEmpty else {
      throw PNGError(operation: .decoding, message: "expected a PNG stream, found 0 bytes")
    }
    let imageData = try imageDataRanges(in: bytes)
    var image = png_image()
    image.version = png_uint_32(PNG_IMAGE_VERSION)
    defer { png_image_free(&image) }
    var pixels: [UInt8] = []
    var channels = 0
    let failure: String? = bytes.withUnsafeBufferPointer { data in
      guard png_image_begin_read_from_memory(&image, data.baseAddress, data.count) != 0 else {
        return message(of: image)
      }
      let color = image.format & PNG_FORMAT_FLAG_COLOR != 0
      let alpha = image.format & PNG_FORMAT_FLAG_ALPHA != 0
      channels = (color ? 3 : 1) + (alpha ? 1 : 0)
      // 8-bit samples, no colour map: libpng expands palettes and scales 16-bit samples.
      image.format = (color ? PNG_FORMAT_FLAG_COLOR : 0) | (alpha ? PNG_FORMAT_FLAG_ALPHA : 0)
      // Without this flag libpng takes 16-bit data for linear light and gamma-encodes it.
      image.flags |= png_uint_32(PNG_IMAGE_FLAG_16BIT_sRGB)
      guard
        let count = DecodingLimit.byteCount(
          width: Int(image.width), height: Int(image.height), channels: channels)
      else {
        return "image of \(image.width)x\(image.height) pixels exceeds the limit of "
          + "\(DecodingLimit.maximumPixelCount) pixels"
      }
      // Deflate expands at most 1032:1 (zlib's bound), and each row of the filtered stream
      // holds a filter byte and at least a bit per pixel: a header whose rows the file's bytes
      // cannot hold is forged or truncated, and is refused before its image is allocated.
      let leastRowBytes = Int(image.height) * (1 + (Int(image.width) + 7) / 8)
      guard leastRowBytes <= Self.maximumInflation * data.count else {
        return "image of \(image.width)x\(image.height) pixels needs at least \(leastRowBytes) "
          + "bytes of rows, more than \(Self.maximumInflation) times the file's \(data.count) "
          + "bytes (deflate's largest expansion): a forged header or a truncated file"
      }
      // A larger image is allocated only once its compressed data is known to fill it.
      if count > Self.uncheckedImageBytes {
        let needed = leastImageDataCount(bytes)
        let found = inflatedCount(of: imageData, in: data, upTo: needed)
        guard found >= needed else {
          return "image of \(image.width)x\(image.height) pixels needs at least \(needed) "
            + "bytes of image data, but the file's IDAT chunks inflate to only \(found): "
            + "a forged header or a truncated file"
        }
      }
      var readFailure: String?
      pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        if png_image_finish_read(&image, nil, buffer.baseAddress, 0, nil) != 0 {
          initialized = count
        } else {
          readFailure = message(of: image)
          initialized = 0
        }
      }
      return readFailure
    }
    if let failure { throw PNGError(operation: .decoding, message: failure) }
    return Bitmap(
      width: Int(image.width), height: Int(image.height), channels: channels, bytes: pixels)
  }

  /// The most bytes deflate can expand one compressed byte into (zlib's documented bound).
  static let maximumInflation = 1_032

  /// libpng's default limit on either side of an image (`PNG_USER_WIDTH_MAX`).
  static let maximumSide = 1_000_000

  /// The outcome of one attempt to write a PNG into a buffer of a given size.
  enum WriteOutcome {
    case written([UInt8])
    case needs(Int)
    case failed(String)
  }

  /// Writes a checked bitmap into a scratch buffer of `capacity` bytes.
  static func write(_ bitmap: Bitmap, capacity: Int) -> WriteOutcome {
    var image = png_image()
    image.version = png_uint_32(PNG_IMAGE_VERSION)
    image.width = png_uint_32(bitmap.width)
    image.height = png_uint_32(bitmap.height)
    image.format = format(channels: bitmap.channels)
    defer { png_image_free(&image) }
    return bitmap.bytes.withUnsafeBufferPointer { pixels in
      withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { memory in
        var size = png_alloc_size_t(capacity)
        let written = png_image_write_to_memory(
          &image, memory.baseAddress, &size, 0, pixels.baseAddress, 0, nil)
        if written != 0 {
          return .written(Array(memory.prefix(Int(size))))
        }
        // A failed write leaves the size alone; a buffer too small gets the size needed.
        if Int(size) > capacity {
          return .needs(Int(size))
        }
        return .failed(message(of: image))
      }
    }
  }

  /// The simplified API's format code for an 8-bit layout of 1 to 4 channels.
  static func format(channels: Int) -> png_uint_32 {
    let color = channels >= 3 ? PNG_FORMAT_FLAG_COLOR : 0
    let alpha = channels % 2 == 0 ? PNG_FORMAT_FLAG_ALPHA : 0
    return png_uint_32(color | alpha)
  }

  /// An upper bound on the size of a PNG stream, after libpng's `PNG_IMAGE_PNG_SIZE_MAX`
  /// (a function-like macro Swift does not import): deflate's worst case for the filtered rows
  /// plus every chunk the simplified writer emits.
  static func streamSizeBound(rawCount: Int, height: Int) -> Int {
    let filtered = rawCount + height
    let compressed = filtered + (filtered + 7) >> 3 + (filtered + 63) >> 6 + 11
    let chunks = 8 + 25 + 16 + 44 + 12 + 12 + 12 * (compressed / Int(PNG_ZBUF_SIZE))
    return compressed + chunks
  }

  /// libpng's message for a failed call, from the image's fixed-size message field.
  static func message(of image: png_image) -> String {
    let text = withUnsafeBytes(of: image.message) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
    return text.isEmpty ? "libpng failed without a message" : text
  }
}
