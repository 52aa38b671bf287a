/// The largest image the codecs decode, so a forged header cannot make Bulwark allocate
/// gigabytes: 178,956,970 pixels, twice Pillow's `Image.MAX_IMAGE_PIXELS`, the size at which
/// Pillow raises `DecompressionBombError`.
enum DecodingLimit {
  static let maximumPixelCount = 178_956_970

  /// The byte count of a decoded image, or `nil` if it exceeds the limit.
  static func byteCount(width: Int, height: Int, channels: Int) -> Int? {
    guard width > 0, height > 0 else { return nil }
    let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
    guard !overflow, pixels <= maximumPixelCount else { return nil }
    return pixels * channels
  }
}
