/// A tuning run that cannot go on: a journal of other settings, an empty grid, an interruption.
public struct TuningError: Error, Equatable, CustomStringConvertible {
  /// What went wrong and what to do.
  public var message: String

  /// Creates an error.
  /// - Parameter message: What went wrong and what to do.
  public init(message: String) {
    self.message = message
  }

  /// The message.
  public var description: String { message }
}
