import Foundation

/// A new, empty folder under the system's temporary folder, removed when the last reference
/// to it goes (a suite that keeps one as a property gets a fresh folder for every test).
public final class ScratchFolder: Sendable {
  /// The folder.
  public let url: URL

  /// Creates a folder named after `prefix` and a UUID.
  /// - Parameter prefix: The start of the folder's name (`bulwark-tune`).
  /// - Throws: A file error when it cannot be created.
  public init(_ prefix: String) throws {
    url = FileManager.default.temporaryDirectory.appendingPathComponent(
      "\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  }

  deinit {
    try? FileManager.default.removeItem(at: url)
  }

  /// A file or folder inside it.
  /// - Parameter name: A relative path.
  /// - Returns: Its URL.
  public func url(_ name: String) -> URL { url.appendingPathComponent(name) }

  /// A file or folder inside it, as a path.
  /// - Parameter name: A relative path.
  /// - Returns: Its path.
  public func path(_ name: String) -> String { url(name).path }
}
