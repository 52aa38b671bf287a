internal import CJPEGShims

/// Encodes and decodes baseline JPEG in memory through the system's libjpeg-turbo.
///
/// The encoder uses the settings ART's `JpegCompression` gets from Pillow: baseline, standard
/// Huffman tables, quantisation tables from `jpeg_set_quality(quality, TRUE)`, the integer slow
/// DCT, and 4:2:0 chroma subsampling for RGB. The decoder uses libjpeg's defaults (integer IDCT,
/// fancy upsampling). With the same libjpeg-turbo, pixels equal Pillow's bit for bit.
///
/// libjpeg's errors, and its warnings about corrupt data (such as a truncated stream it would
/// pad with grey), are thrown as `JPEGError`; bad input never ends the process.
public enum JPEGCodec {
  /// Compresses an 8-bit greyscale or RGB bitmap.
  /// - Parameters:
  ///   - bitmap: 1 channel (grey) or 3 channels (RGB), at most 65,500 pixels per side.
  ///   - quality: libjpeg's quality, 1 (smallest) to 100 (best).
  /// - Returns: A complete JFIF stream.
  /// - Throws: `JPEGError` for a quality outside 1...100, another channel count, a size libjpeg
  ///   cannot hold, or a byte count that does not match the bitmap's dimensions.
  public static func encode(_ bitmap: Bitmap, quality: Int) throws(JPEGError) -> [UInt8] {
    try checkEncodable(
      width: bitmap.width, height: bitmap.height, channels: bitmap.channels,
      byteCount: bitmap.bytes.count, quality: quality)
    var stream: UnsafeMutablePointer<UInt8>?
    var size: CUnsignedLong = 0
    let failure = bitmap.bytes.withUnsafeBufferPointer { pixels in
      callShim { message in
        bulwark_jpeg_encode(
          pixels.baseAddress, Int32(bitmap.width), Int32(bitmap.height),
          Int32(bitmap.channels), Int32(quality), &stream, &size, message)
      }
    }
    if let failure { throw JPEGError(operation: .encoding, message: failure) }
    guard let stream else {
      throw JPEGError(operation: .encoding, message: "libjpeg returned no data")
    }
    defer { bulwark_jpeg_free(stream) }
    return Array(UnsafeBufferPointer(start: stream, count: Int(size)))
  }

  /// Decompresses a JPEG stream, baseline or progressive.
  /// - Parameter bytes: The whole file.
  /// - Returns: A 1-channel bitmap for a greyscale JPEG, a 3-channel RGB bitmap for a colour one.
  /// - Throws: `JPEGError` for an empty, truncated or corrupt stream, a CMYK or YCCK file, or an
  ///   image of more than 178,956,970 pixels (Pillow's decompression-bomb limit).
  public static func decode(_ bytes: [UInt8]) throws(JPEGError) -> Bitmap {
    var width: Int32 = 0
    var height: Int32 = 0
    var channels: Int32 = 0
    var pixels: [UInt8] = []
    let failure: String? = bytes.withUnsafeBufferPointer { data in
      let size = CUnsignedLong(data.count)
      if let failure = callShim({ message in
        bulwark_jpeg_read_header(data.baseAddress, size, &width, &height, &channels, message)
      }) {
        return failure
      }
      guard
        let count = DecodingLimit.byteCount(
          width: Int(width), height: Int(height), channels: Int(channels))
      else {
        return "image of \(width)x\(height) pixels exceeds the limit of "
          + "\(DecodingLimit.maximumPixelCount) pixels"
      }
      var decodingFailure: String?
      pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        decodingFailure = callShim { message in
          bulwark_jpeg_decode(
            data.baseAddress, size, buffer.baseAddress, width, height, channels, message)
        }
        initialized = decodingFailure == nil ? count : 0
      }
      return decodingFailure
    }
    if let failure { throw JPEGError(operation: .decoding, message: failure) }
    return Bitmap(width: Int(width), height: Int(height), channels: Int(channels), bytes: pixels)
  }

  /// Compresses a bitmap and decompresses the result, as the JPEG-compression defense does.
  ///
  /// Equals `decode(encode(bitmap, quality:))` without handing the compressed stream to Swift.
  /// - Parameters:
  ///   - bitmap: 1 channel (grey) or 3 channels (RGB).
  ///   - quality: libjpeg's quality, 1...100.
  /// - Returns: A bitmap of the same size and channel count.
  /// - Throws: `JPEGError` as `encode(_:quality:)` does.
  public static func roundTrip(_ bitmap: Bitmap, quality: Int) throws(JPEGError) -> Bitmap {
    try checkEncodable(
      width: bitmap.width, height: bitmap.height, channels: bitmap.channels,
      byteCount: bitmap.bytes.count, quality: quality)
    let count = bitmap.bytes.count
    var failure: String?
    let pixels = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
      failure = bitmap.bytes.withUnsafeBufferPointer { source in
        shimRoundTrip(
          source, width: bitmap.width, height: bitmap.height, channels: bitmap.channels,
          quality: quality, into: buffer)
      }
      initialized = failure == nil ? count : 0
    }
    if let failure { throw JPEGError(operation: .roundTrip, message: failure) }
    return Bitmap(
      width: bitmap.width, height: bitmap.height, channels: bitmap.channels, bytes: pixels)
  }

  /// Compresses interleaved 8-bit pixels and decompresses them into a caller's buffer, allocating
  /// nothing in Swift: the hot path of the JPEG-compression defense.
  /// - Parameters:
  ///   - pixels: `height * width * channels` bytes, rows of interleaved pixels.
  ///   - width: Pixels per row.
  ///   - height: Rows.
  ///   - channels: 1 (grey) or 3 (RGB).
  ///   - quality: libjpeg's quality, 1...100.
  ///   - output: Receives `pixels.count` bytes; it may be the memory `pixels` views.
  /// - Throws: `JPEGError` as `encode(_:quality:)` does.
  package static func roundTrip(
    _ pixels: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int, quality: Int,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) throws(JPEGError) {
    try checkEncodable(
      width: width, height: height, channels: channels, byteCount: pixels.count,
      quality: quality)
    precondition(output.count >= pixels.count, "output buffer too small for the round trip")
    if let failure = shimRoundTrip(
      pixels, width: width, height: height, channels: channels, quality: quality, into: output)
    {
      throw JPEGError(operation: .roundTrip, message: failure)
    }
  }

  /// Runs the shim's round trip on checked arguments.
  /// - Returns: `nil` on success, otherwise libjpeg's message.
  static func shimRoundTrip(
    _ pixels: UnsafeBufferPointer<UInt8>, width: Int, height: Int, channels: Int, quality: Int,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) -> String? {
    callShim { message in
      bulwark_jpeg_round_trip(
        pixels.baseAddress, Int32(width), Int32(height), Int32(channels), Int32(quality),
        output.baseAddress, message)
    }
  }

  /// Libjpeg's limit on either side of an image.
  static let maximumSide = 65_500

  /// Throws unless libjpeg can encode an image of this geometry at this quality.
  static func checkEncodable(
    width: Int, height: Int, channels: Int, byteCount: Int, quality: Int
  ) throws(JPEGError) {
    guard (1...100).contains(quality) else {
      throw JPEGError(
        operation: .encoding, message: "quality must be in 1...100, found \(quality)")
    }
    guard channels == 1 || channels == 3 else {
      throw JPEGError(
        operation: .encoding,
        message: "expected 1 channel (grey) or 3 channels (RGB), found \(channels)")
    }
    guard (1...maximumSide).contains(width), (1...maximumSide).contains(height) else {
      throw JPEGError(
        operation: .encoding,
        message: "expected 1 to \(maximumSide) pixels per side, found \(width)x\(height)")
    }
    guard byteCount == width * height * channels else {
      throw JPEGError(
        operation: .encoding,
        message: "expected \(width * height * channels) bytes for \(width)x\(height)x"
          + "\(channels) pixels, found \(byteCount)")
    }
  }

  /// Runs a shim function with a message buffer on the stack.
  /// - Returns: `nil` if the function returned 0, otherwise its message.
  static func callShim(_ body: (UnsafeMutablePointer<CChar>) -> Int32) -> String? {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(BULWARK_JPEG_MESSAGE_SIZE)) {
      buffer in
      guard let message = buffer.baseAddress else { return "no message buffer" }
      message[0] = 0
      guard body(message) != 0 else { return nil }
      buffer[buffer.count - 1] = 0
      let text = String(cString: message)
      return text.isEmpty ? "libjpeg failed without a message" : text
    }
  }
}
