/// The shape of one image: height, width and channel count, stored row by row with channels
/// interleaved (HWC).
public struct ImageShape: Hashable, Sendable, Codable, CustomStringConvertible {
  /// Rows of pixels.
  public var height: Int
  /// Pixels per row.
  public var width: Int
  /// Values per pixel: 1 for grey, 3 for RGB.
  public var channels: Int

  /// Creates an image shape.
  /// - Precondition: every dimension is positive.
  public init(height: Int, width: Int, channels: Int) {
    precondition(height > 0 && width > 0 && channels > 0, "image dimensions must be positive")
    self.height = height
    self.width = width
    self.channels = channels
  }

  /// Values in one image: height x width x channels.
  public var valueCount: Int { height * width * channels }

  /// `28x28x1`.
  public var description: String { "\(height)x\(width)x\(channels)" }
}
