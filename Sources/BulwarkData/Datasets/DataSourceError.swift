/// A data source that cannot be found or used: a missing file or package, an unknown name, images
/// and labels that do not belong together.
public struct DataSourceError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The source as the user named it.
  public var source: String
  /// What is wrong and, where there is one, what to do about it.
  public var message: String

  /// Creates an error about a data source.
  /// - Parameters:
  ///   - source: The source as the user named it.
  ///   - message: What is wrong and what to do about it.
  public init(source: String, message: String) {
    self.source = source
    self.message = message
  }

  /// `source: message`.
  public var description: String { "\(source): \(message)" }
}
