/// A PNG that could not be encoded or decoded, with libpng's reason.
///
/// libpng's own messages are kept word for word (`IHDR: CRC error`, `Not a PNG file`), prefixed
/// with the operation that failed: `PNG decoding failed: IHDR: CRC error`.
public struct PNGError: Error, CustomStringConvertible, Equatable, Sendable {
  /// What Bulwark was doing when libpng failed.
  public enum Operation: String, Equatable, Sendable {
    /// Turning pixels into a PNG stream.
    case encoding
    /// Turning a PNG stream into pixels.
    case decoding
  }

  /// What Bulwark was doing when the failure happened.
  public var operation: Operation
  /// libpng's message, or Bulwark's own for input it refuses before calling libpng.
  public var message: String

  /// Creates an error for a failed PNG operation.
  /// - Parameters:
  ///   - operation: What was being done.
  ///   - message: Why it failed.
  public init(operation: Operation, message: String) {
    self.operation = operation
    self.message = message
  }

  /// `PNG encoding failed: …` or `PNG decoding failed: …`.
  public var description: String {
    "PNG \(operation.rawValue) failed: \(message)"
  }
}
