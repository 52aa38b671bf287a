/// A data source that cannot be found or used: a missing file or package, an unknown name, images
/// and labels that do not belong together.
public struct DataSourceError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The source as the user named it.
  public var source: String
  /// What is wrong and, where there is one, what to do about it.
  public var message: String
  /// Whether naming the labels file explicitly would fix it (an IDX images file whose labels
  /// file was not found beside it); a caller words that in its own terms (a command line
  /// names its flag).
  public var needsLabelsFile: Bool

  /// Creates an error about a data source.
  /// - Parameters:
  ///   - source: The source as the user named it.
  ///   - message: What is wrong and what to do about it.
  ///   - needsLabelsFile: Whether giving the labels file explicitly would fix it.
  public init(source: String, message: String, needsLabelsFile: Bool = false) {
    self.source = source
    self.message = message
    self.needsLabelsFile = needsLabelsFile
  }

  /// `source: message`, with the library's advice when a labels file is needed.
  public var description: String {
    "\(source): \(message)" + (needsLabelsFile ? "; name its labels file" : "")
  }
}
