/// A tuning run that cannot go on: a journal of other settings, an empty grid, an interruption.
public struct TuningError: Error, Equatable, CustomStringConvertible {
  /// What a user can do about it, for the caller to word (a command line names its flag).
  public enum Remedy: Equatable, Sendable {
    /// Continue the run from its journal.
    case resume
    /// Start afresh: remove the journal, or do not continue it.
    case startAfresh
  }

  /// What went wrong.
  public var message: String
  /// What the user can do about it, if anything.
  public var remedy: Remedy?

  /// Creates an error.
  /// - Parameters:
  ///   - message: What went wrong.
  ///   - remedy: What the user can do about it.
  public init(message: String, remedy: Remedy? = nil) {
    self.message = message
    self.remedy = remedy
  }

  /// The message, with the remedy in the library's words.
  public var description: String {
    switch remedy {
    case .resume: message + "; continue the run from its journal"
    case .startAfresh: message + "; remove the journal or start a new run"
    case nil: message
    }
  }
}
