import BulwarkCore
import BulwarkData
import Foundation

extension ModelError {
  /// A failure to decode an architecture's JSON, worded as the key path (`layers[2].out`), what
  /// the field needs and what the text holds there, instead of Foundation's `DecodingError`
  /// dump.
  /// - Parameters:
  ///   - error: The decoder's error.
  ///   - json: The architecture's text, read again to quote the offending value.
  init(decoding error: DecodingError, json: String) {
    let document = try? JSONSerialization.jsonObject(
      with: Data(json.utf8), options: [.fragmentsAllowed])
    func found(at path: [any CodingKey]) -> String {
      Self.describe(Self.value(at: path, in: document))
    }
    switch error {
    case .keyNotFound(let key, let context):
      self.init(
        field: modelErrorField(context.codingPath + [key]), expected: "a value",
        found: "no such key")
    case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
      self.init(
        field: modelErrorField(context.codingPath), expected: Self.kind(of: type),
        found: found(at: context.codingPath))
    case .dataCorrupted(let context):
      // Foundation reports a number no `Int` holds (1e40, 2^63, 1.5) as invalid JSON at the
      // root: find the size field that holds it.
      let path = context.codingPath.isEmpty ? Self.nonIntegerSize(in: document) : context.codingPath
      guard let path else {
        self.init(field: "architecture", expected: "JSON text", found: "malformed JSON")
        return
      }
      self.init(
        field: modelErrorField(path), expected: "an integer that fits in 64 bits",
        found: found(at: path))
    @unknown default:
      self.init(field: "architecture", expected: "valid JSON", found: "\(error)")
    }
  }

  /// The path of the first size field (`input.height`, `classes`, `layers[2].out`, …) whose
  /// number is not a 64-bit integer, or nil.
  private static func nonIntegerSize(in document: Any?) -> [any CodingKey]? {
    var candidates: [[any CodingKey]] = Architecture.ShapeKeys.allCases.map {
      [Architecture.CodingKeys.input, $0]
    }
    candidates.append([Architecture.CodingKeys.classes])
    let layers = value(at: [Architecture.CodingKeys.layers], in: document) as? [Any] ?? []
    for index in layers.indices {
      let sizes: [Layer.CodingKeys] = [
        .inputs, .outputs, .kernel, .stride, .padding, .groups, .features,
      ]
      candidates += sizes.map { [Architecture.CodingKeys.layers, IndexKey(index), $0] }
    }
    return candidates.first { path in
      guard let number = value(at: path, in: document) as? NSNumber else { return false }
      let double = number.doubleValue
      return !(double == double.rounded() && abs(double) < 0x1p63)
    }
  }

  /// An array index in a coding path.
  private struct IndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { "\(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
  }

  /// The JSON value at `path` in a `JSONSerialization` tree, or nil.
  private static func value(at path: [any CodingKey], in document: Any?) -> Any? {
    var current = document
    for key in path {
      if let index = key.intValue {
        guard let array = current as? [Any], array.indices.contains(index) else { return nil }
        current = array[index]
      } else {
        guard let object = current as? [String: Any] else { return nil }
        current = object[key.stringValue]
      }
    }
    return current
  }

  /// A JSON value in words: `null`, `a string "3"`, `1e+40`, `an array`, `an object`.
  private static func describe(_ value: Any?) -> String {
    switch value {
    case nil, is NSNull: "null"
    case let text as String: "a string \(jsonStringLiteral(text))"
    case is [Any]: "an array"
    case is [String: Any]: "an object"
    case let number as NSNumber: number.stringValue
    case let other?: "\(other)"
    }
  }

  /// What a field of `type` holds, in words.
  private static func kind(of type: Any.Type) -> String {
    switch type {
    case is any BinaryInteger.Type: "an integer"
    case is any BinaryFloatingPoint.Type: "a number"
    case is String.Type: "a string"
    case is [Layer].Type: "an array of layers"
    default: "an object"
    }
  }
}

/// A coding path as a user writes it: `layers[2].out`.
/// - Parameter path: The keys from the root.
/// - Returns: The path, or `architecture` for the root.
func modelErrorField(_ path: [any CodingKey]) -> String {
  let text = dottedPath(path)
  return text.isEmpty ? "architecture" : text
}
