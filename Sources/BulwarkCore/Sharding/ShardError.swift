/// A shard that cannot be read or does not exist.
public struct ShardError: Error, Equatable, CustomStringConvertible {
  /// What is wrong, in words.
  public let message: String

  /// An error with a message.
  public init(_ message: String) { self.message = message }

  /// The message.
  public var description: String { message }
}
