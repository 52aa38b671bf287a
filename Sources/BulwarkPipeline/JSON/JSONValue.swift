/// A parsed JSON5 value, with where each object member came from for error messages.
indirect enum JSONValue: Equatable, Sendable {
  /// `null`.
  case null
  /// `true` or `false`.
  case bool(Bool)
  /// A number (integers are exact up to 2^53; `Infinity` and `NaN` are JSON5 numbers).
  case number(Double)
  /// A string.
  case string(String)
  /// An array.
  case array([JSONValue])
  /// An object, members in file order.
  case object([Member])

  /// One `key: value` member of an object.
  struct Member: Equatable, Sendable {
    /// The key.
    var key: String
    /// The value.
    var value: JSONValue

    /// Creates a member.
    /// - Parameters:
    ///   - key: The key.
    ///   - value: The value.
    init(key: String, value: JSONValue) {
      self.key = key
      self.value = value
    }
  }

  /// The kind of value, in words, for "expected …, found …" messages.
  var kind: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .number: "a number"
    case .string: "a string"
    case .array: "an array"
    case .object: "an object"
    }
  }

  /// The value of `key` in an object, or nil.
  /// - Parameter key: The member's key.
  subscript(key: String) -> JSONValue? {
    guard case .object(let members) = self else { return nil }
    return members.last { $0.key == key }?.value
  }
}
