import BulwarkData
import Foundation

/// What decoding an ONNX file needs besides the bytes: its name for errors, its folder for
/// external data, and the external files already read.
final class ONNXDecoder {
  let file: String
  /// The model's folder; nil for in-memory bytes, which may not use external data.
  let folder: URL?
  private var externalFiles: [String: [UInt8]] = [:]

  init(file: String, folder: URL?) {
    self.file = file
    self.folder = folder
  }

  func error(_ field: String, expected: String, found: String) -> FormatError {
    FormatError(file: file, location: .field(field), expected: expected, found: found)
  }

  /// The bytes of an external data file, `location` relative to the model's folder.
  /// - Throws: ``FormatError`` for an absolute path, a `..` component, or a missing file.
  func externalBytes(_ location: String, field: String) throws -> [UInt8] {
    if let bytes = externalFiles[location] { return bytes }
    let components = location.split(separator: "/", omittingEmptySubsequences: false)
    guard !location.isEmpty, !location.hasPrefix("/"), !location.contains("\\"),
      !components.contains(".."), !location.contains(":")
    else {
      throw error(
        field, expected: "an external data path relative to the model's folder, without '..'",
        found: "'\(location)'")
    }
    guard let folder else {
      throw error(field, expected: "no external data for a model read from memory", found: location)
    }
    let url = folder.appendingPathComponent(location)
    guard let data = FileManager.default.contents(atPath: url.path) else {
      throw error(field, expected: "the external data file \(url.path)", found: "no such file")
    }
    let bytes = [UInt8](data)
    externalFiles[location] = bytes
    return bytes
  }
}
