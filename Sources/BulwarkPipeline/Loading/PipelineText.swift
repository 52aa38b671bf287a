import BulwarkCore
import BulwarkData
import Foundation

/// The text of a pipeline file, with errors a user can act on.
/// - Parameter url: The file.
/// - Returns: Its contents.
/// - Throws: `PipelineErrors` for a missing or unreadable file, a folder, or text that is not
///   UTF-8.
func pipelineText(at url: URL) throws(PipelineErrors) -> String {
  let bytes: [UInt8]
  do {
    bytes = [UInt8](try FileAccess.contents(of: url))
  } catch {
    throw PipelineErrors([
      PipelineError(file: url.path, path: "", message: "cannot read: \(error.reason)")
    ])
  }
  guard let text = String(validating: bytes, as: UTF8.self) else {
    throw PipelineErrors([
      PipelineError(file: url.path, path: "", message: "expected UTF-8 text")
    ])
  }
  return text
}
