import BulwarkData
import Synchronization

/// The keys each object of a document was asked for while decoding, so that every other key
/// can be reported as unknown with a suggestion from the keys the type asked for.
final class KeyUsage: Sendable {
  private struct State {
    var asked: [String: Set<String>] = [:]
    var skipped: Set<String> = []
  }

  private let state = Mutex(State())

  /// Records that the object at `path` was asked for `key`.
  func record(_ key: String, at path: String) {
    state.withLock { _ = $0.asked[path, default: []].insert(key) }
  }

  /// Marks the object at `path` as not checked (its type was unknown, so its keys are too).
  func skip(_ path: String) {
    state.withLock { _ = $0.skipped.insert(path) }
  }

  /// The unknown keys of `value` and of every object inside it that was decoded.
  /// - Parameters:
  ///   - value: The document, or a part of it.
  ///   - path: The path of `value`.
  ///   - file: The file errors name.
  /// - Returns: One error per unknown key, in file order.
  func unknownKeys(in value: JSONValue, at path: [any CodingKey], file: String) -> [PipelineError] {
    let rendered = render(path)
    switch value {
    case .object(let members):
      let (recorded, skipped) = state.withLock {
        ($0.asked[rendered], $0.skipped.contains(rendered))
      }
      guard let recorded, !skipped else { return [] }
      let asked = recorded.subtracting([""])
      var errors: [PipelineError] = []
      for member in members {
        let memberPath = path + [PathKey(stringValue: member.key)]
        if asked.contains(member.key) {
          errors += unknownKeys(in: member.value, at: memberPath, file: file)
        } else {
          var message = "unknown key"
          if let suggestion = closestMatch(to: member.key, among: asked.sorted()) {
            message += "; did you mean \(suggestion)?"
          } else {
            message += " (known keys: \(asked.sorted().joined(separator: ", ")))"
          }
          errors.append(PipelineError(file: file, path: render(memberPath), message: message))
        }
      }
      return errors
    case .array(let elements):
      return elements.enumerated().flatMap { index, element in
        unknownKeys(in: element, at: path + [PathKey(intValue: index)], file: file)
      }
    default:
      return []
    }
  }
}
