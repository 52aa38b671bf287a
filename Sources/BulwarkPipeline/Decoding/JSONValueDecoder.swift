/// A `Decoder` over a `JSONValue` tree that records which keys every object was asked for
/// (see `KeyUsage`) and throws `PipelineError`s naming the full path
/// (`preprocessors[1].window: expected an integer, found "3"`).
struct JSONValueDecoder: Decoder {
  let value: JSONValue
  let codingPath: [any CodingKey]
  let usage: KeyUsage
  let file: String
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  init(_ value: JSONValue, codingPath: [any CodingKey] = [], usage: KeyUsage, file: String) {
    self.value = value
    self.codingPath = codingPath
    self.usage = usage
    self.file = file
  }

  func error(_ message: String, at path: [any CodingKey]? = nil) -> PipelineError {
    PipelineError(file: file, path: render(path ?? codingPath), message: message)
  }

  func mismatch(_ expected: String, at path: [any CodingKey]? = nil) -> PipelineError {
    error("expected \(expected), found \(Self.describe(value))", at: path)
  }

  static func describe(_ value: JSONValue) -> String {
    switch value {
    case .number(let number):
      number == number.rounded() && abs(number) < 1e15 ? "\(Int(number))" : "\(number)"
    case .string(let text): "\"\(text)\""
    case .bool(let flag): "\(flag)"
    default: value.kind
    }
  }

  /// The decoder of member `key`, recording the key as asked; nil when it is absent.
  func member(_ key: String) -> JSONValueDecoder? {
    usage.record(key, at: render(codingPath))
    guard let child = value[key] else { return nil }
    return JSONValueDecoder(
      child, codingPath: codingPath + [PathKey(stringValue: key)], usage: usage, file: file)
  }

  /// Decodes this value as `T`, primitives directly and other types through `init(from:)`.
  func decode<T: Decodable>(_ type: T.Type) throws -> T {
    if T.self == Bool.self {
      guard case .bool(let flag) = value, let result = flag as? T else {
        throw mismatch("true or false")
      }
      return result
    }
    if T.self == String.self {
      guard case .string(let text) = value, let result = text as? T else {
        throw mismatch("a string")
      }
      return result
    }
    if let integer = T.self as? any FixedWidthInteger.Type {
      guard case .number(let number) = value, number.isFinite, number == number.rounded(),
        let converted = integer.init(exactly: number), let result = converted as? T
      else { throw mismatch("an integer") }
      return result
    }
    if let floating = T.self as? any BinaryFloatingPoint.Type {
      guard case .number(let number) = value, let result = floating.init(number) as? T else {
        throw mismatch("a number")
      }
      return result
    }
    if case .object = value {
      usage.record("", at: render(codingPath))
    }
    return try T(from: self)
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    guard case .object = value else { throw mismatch("an object") }
    usage.record("", at: render(codingPath))
    return KeyedDecodingContainer(JSONKeyedContainer<Key>(decoder: self))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    guard case .array(let elements) = value else { throw mismatch("an array") }
    return JSONUnkeyedContainer(decoder: self, elements: elements)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer {
    JSONSingleValueContainer(decoder: self)
  }
}

/// Object members, decoded by key.
struct JSONKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let decoder: JSONValueDecoder
  var codingPath: [any CodingKey] { decoder.codingPath }

  var allKeys: [Key] {
    guard case .object(let members) = decoder.value else { return [] }
    return members.compactMap { Key(stringValue: $0.key) }
  }

  func contains(_ key: Key) -> Bool { decoder.member(key.stringValue) != nil }

  private func child(_ key: Key) throws -> JSONValueDecoder {
    guard let child = decoder.member(key.stringValue) else {
      throw decoder.error(
        "missing required key", at: codingPath + [PathKey(stringValue: key.stringValue)])
    }
    return child
  }

  func decodeNil(forKey key: Key) throws -> Bool {
    try child(key).value == .null
  }

  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
    try child(key).decode(type)
  }

  /// The member's value, or nil when the key is absent. A pipeline file leaves a key out to
  /// take its default; `window: null` is a value of the wrong type, not a default
  /// (`expected an integer, found null`).
  func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
    guard let child = decoder.member(key.stringValue) else { return nil }
    return try child.decode(type)
  }

  func nestedContainer<NestedKey: CodingKey>(
    keyedBy type: NestedKey.Type, forKey key: Key
  ) throws -> KeyedDecodingContainer<NestedKey> {
    try child(key).container(keyedBy: type)
  }

  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    try child(key).unkeyedContainer()
  }

  func superDecoder() throws -> any Decoder { decoder }

  func superDecoder(forKey key: Key) throws -> any Decoder { try child(key) }
}

/// Array elements, decoded in order.
struct JSONUnkeyedContainer: UnkeyedDecodingContainer {
  let decoder: JSONValueDecoder
  let elements: [JSONValue]
  var currentIndex = 0
  var codingPath: [any CodingKey] { decoder.codingPath }
  var count: Int? { elements.count }
  var isAtEnd: Bool { currentIndex >= elements.count }

  init(decoder: JSONValueDecoder, elements: [JSONValue]) {
    self.decoder = decoder
    self.elements = elements
  }

  private mutating func next() throws -> JSONValueDecoder {
    guard !isAtEnd else {
      throw decoder.error("expected more than \(elements.count) elements")
    }
    defer { currentIndex += 1 }
    return JSONValueDecoder(
      elements[currentIndex], codingPath: codingPath + [PathKey(intValue: currentIndex)],
      usage: decoder.usage, file: decoder.file)
  }

  mutating func decodeNil() throws -> Bool {
    guard !isAtEnd, elements[currentIndex] == .null else { return false }
    currentIndex += 1
    return true
  }

  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
    try next().decode(type)
  }

  mutating func nestedContainer<NestedKey: CodingKey>(
    keyedBy type: NestedKey.Type
  ) throws -> KeyedDecodingContainer<NestedKey> {
    try next().container(keyedBy: type)
  }

  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
    try next().unkeyedContainer()
  }

  mutating func superDecoder() throws -> any Decoder { try next() }
}

/// One value.
struct JSONSingleValueContainer: SingleValueDecodingContainer {
  let decoder: JSONValueDecoder
  var codingPath: [any CodingKey] { decoder.codingPath }

  func decodeNil() -> Bool { decoder.value == .null }

  func decode<T: Decodable>(_ type: T.Type) throws -> T {
    try decoder.decode(type)
  }
}
