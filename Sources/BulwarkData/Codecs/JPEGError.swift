/// A JPEG that could not be encoded or decoded, with libjpeg's reason.
///
/// libjpeg's own messages are kept word for word (`Not a JPEG file: starts with 0x89 0x50`,
/// `Premature end of JPEG file`), prefixed with the operation that failed:
/// `JPEG decoding failed: Premature end of JPEG file`.
public struct JPEGError: Error, CustomStringConvertible, Equatable, Sendable {
  /// What Bulwark was doing when libjpeg failed.
  public enum Operation: String, Equatable, Sendable {
    /// Turning pixels into a JPEG stream.
    case encoding
    /// Turning a JPEG stream into pixels.
    case decoding
    /// Encoding pixels and decoding the result in one call.
    case roundTrip = "round trip"
  }

  /// What Bulwark was doing when the failure happened.
  public var operation: Operation
  /// libjpeg's message, or Bulwark's own for arguments it refuses before calling libjpeg.
  public var message: String

  /// Creates an error for a failed JPEG operation.
  /// - Parameters:
  ///   - operation: What was being done.
  ///   - message: Why it failed.
  public init(operation: Operation, message: String) {
    self.operation = operation
    self.message = message
  }

  /// `JPEG encoding failed: …`, `JPEG decoding failed: …` or `JPEG round trip failed: …`.
  public var description: String {
    "JPEG \(operation.rawValue) failed: \(message)"
  }
}
