/// An 8-bit image as image codecs read and write it: rows of pixels, channels interleaved.
public struct Bitmap: Equatable, Sendable {
  /// Pixels per row.
  public var width: Int
  /// Rows of pixels.
  public var height: Int
  /// Bytes per pixel: 1 (grey), 2 (grey and alpha), 3 (RGB) or 4 (RGBA).
  public var channels: Int
  /// `height * width * channels` bytes, row by row.
  public var bytes: [UInt8]

  /// Creates a bitmap.
  /// - Precondition: positive dimensions, 1 to 4 channels, and a byte count that fits.
  public init(width: Int, height: Int, channels: Int, bytes: [UInt8]) {
    precondition(width > 0 && height > 0, "bitmap dimensions must be positive")
    precondition((1...4).contains(channels), "a bitmap has 1 to 4 channels")
    precondition(bytes.count == width * height * channels, "byte count does not fit")
    self.width = width
    self.height = height
    self.channels = channels
    self.bytes = bytes
  }
}
