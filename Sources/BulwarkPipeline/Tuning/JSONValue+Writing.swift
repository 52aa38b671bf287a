import BulwarkData

extension JSONValue {
  /// The value as one line of JSON5 with unquoted identifier keys: `{type: "jpeg", quality: 50}`.
  var compactText: String { text(indent: nil, level: 0) }

  /// The value as indented JSON5, two spaces per level, for files a user reads.
  var indentedText: String { text(indent: "  ", level: 0) }

  private func text(indent: String?, level: Int) -> String {
    switch self {
    case .null: return "null"
    case .bool(let flag): return flag ? "true" : "false"
    case .number(let number): return Self.format(number)
    case .string(let string): return jsonStringLiteral(string)
    case .array(let elements):
      guard !elements.isEmpty else { return "[]" }
      let items = elements.map { $0.text(indent: indent, level: level + 1) }
      // Arrays of numbers and strings stay on one line: `clipValues: [0, 1]`.
      let scalars = elements.allSatisfy {
        switch $0 {
        case .array, .object: false
        default: true
        }
      }
      return Self.wrap(
        items, open: "[", close: "]", indent: scalars ? nil : indent, level: level)
    case .object(let members):
      guard !members.isEmpty else { return "{}" }
      let items = members.map { member in
        Self.key(member.key) + ": " + member.value.text(indent: indent, level: level + 1)
      }
      return Self.wrap(items, open: "{", close: "}", indent: indent, level: level)
    }
  }

  private static func wrap(
    _ items: [String], open: String, close: String, indent: String?, level: Int
  ) -> String {
    guard let indent else { return open + items.joined(separator: ", ") + close }
    let inner = String(repeating: indent, count: level + 1)
    let outer = String(repeating: indent, count: level)
    return open + "\n" + items.map { inner + $0 + ",\n" }.joined() + outer + close
  }

  /// Integers without a fraction, other numbers in Swift's shortest round-trip form.
  static func format(_ number: Double) -> String {
    if number.isNaN { return "NaN" }
    if number.isInfinite { return number > 0 ? "Infinity" : "-Infinity" }
    if number == number.rounded() && abs(number) < 1e15 { return String(Int64(number)) }
    return "\(number)"
  }

  private static func key(_ key: String) -> String {
    let identifier =
      key.first.map { $0.isLetter || $0 == "_" || $0 == "$" } ?? false
      && key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "$" }
    return identifier && key.allSatisfy(\.isASCII) ? key : jsonStringLiteral(key)
  }
}
