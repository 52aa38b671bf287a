import BulwarkCore
import Foundation

extension BoostedTrees {
  /// The model as LightGBM 4.7's `model.txt`, byte for byte as its Python package saves it.
  /// - Returns: The file's text.
  public func modelText() -> String { ModelFileWriter.text(of: self) }

  /// Reads a LightGBM `model.txt` (multiclass, numerical splits), written by LightGBM or Bulwark.
  /// - Parameters:
  ///   - modelText: The file's text; LF or CRLF line endings.
  ///   - file: The file's path in messages (default `model text`).
  /// - Throws: `BoostingError.malformedModel` naming the file, line and field of the first
  ///   problem, including a `tree_sizes` entry that does not match its tree's length.
  public init(modelText: String, file: String = "model text") throws(BoostingError) {
    var reader = ModelFileReader(text: modelText, file: file)
    self = try reader.read()
  }

  /// Reads a LightGBM `model.txt` file.
  /// - Parameter url: The file.
  /// - Throws: `BoostingError.fileAccess` when it cannot be read, `.malformedModel` when it is
  ///   not a valid model.
  public init(contentsOf url: URL) throws(BoostingError) {
    let data: Data
    do {
      data = try FileAccess.contents(of: url)
    } catch {
      throw .fileAccess(error)
    }
    guard let text = String(data: data, encoding: .utf8) else {
      throw .malformedModel(
        file: url.path, line: 1, field: "file", expected: "UTF-8 text", found: "binary data")
    }
    try self.init(modelText: text, file: url.path)
  }

  /// Writes the model as LightGBM's `model.txt`.
  /// - Parameter url: The file to create or replace.
  /// - Throws: `BoostingError.fileAccess` when it cannot be written.
  public func write(to url: URL) throws(BoostingError) {
    do {
      try FileAccess.write(Data(modelText().utf8), to: url)
    } catch {
      throw .fileAccess(error)
    }
  }
}
