import Foundation

/// Whole-file reads and writes for the format readers, with errors that name the file.
package enum FileBytes {
  /// The bytes of the file at `url`.
  /// - Throws: `FormatError` at `.whole` when the file is missing or cannot be read.
  package static func read(_ url: URL) throws(FormatError) -> [UInt8] {
    let path = url.path
    do {
      return [UInt8](try Data(contentsOf: url))
    } catch {
      var isDirectory: ObjCBool = false
      let found: String
      if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        found = "no such file"
      } else if isDirectory.boolValue {
        found = "a directory"
      } else {
        found = "an unreadable file (\(error.localizedDescription))"
      }
      throw FormatError(file: path, location: .whole, expected: "a readable file", found: found)
    }
  }

  /// Writes `bytes` to `url` atomically.
  /// - Throws: the file system's error when the file cannot be written.
  static func write(_ bytes: [UInt8], to url: URL) throws {
    try Data(bytes).write(to: url, options: .atomic)
  }
}
