import BulwarkData

/// A JSON value of a safetensors header, parsed without loss.
///
/// Foundation's `JSONSerialization` reads numbers through `Double` (an offset above 2^53
/// silently changes) and keeps only the last of duplicate keys; this parser keeps numbers as
/// their literal text and objects as ordered key-value pairs, so both can be checked exactly.
/// It accepts what serde_json (the reference's parser) accepts: RFC 8259 JSON, whitespace
/// around the value, nesting up to 127 levels.
indirect enum HeaderJSON {
  /// An object's members, in file order, duplicates kept.
  case object([(key: String, value: HeaderJSON)])
  /// An array's elements.
  case array([HeaderJSON])
  /// A string, unescaped.
  case string(String)
  /// A number, as its literal text.
  case number(String)
  /// `true` or `false`.
  case bool(Bool)
  /// `null`.
  case null

  /// What the value is, as an error message names it: `the string "f32"`, `the number -1`.
  var summary: String {
    switch self {
    case .object: "an object"
    case .array: "an array"
    case .string(let text): "the string \"\(text)\""
    case .number(let text): "the number \(text)"
    case .bool(let value): "\(value)"
    case .null: "null"
    }
  }

  /// The value as a non-negative integer, exactly, if it is an integer literal without sign,
  /// fraction or exponent that fits in 64 bits.
  var unsignedInteger: UInt64? {
    guard case .number(let text) = self, text.utf8.allSatisfy({ (0x30...0x39).contains($0) })
    else { return nil }
    return UInt64(text)
  }

  /// Parses one JSON value filling the whole of `bytes`, with optional whitespace around it.
  /// - Parameters:
  ///   - bytes: The header; must already be valid UTF-8.
  ///   - base: The header's offset in the file, so that errors point into the file.
  ///   - file: The file name errors report.
  /// - Returns: The value.
  /// - Throws: `FormatError` at the offset of the first byte that is not valid JSON.
  static func parse(_ bytes: ArraySlice<UInt8>, base: Int, file: String) throws(FormatError)
    -> HeaderJSON
  {
    var parser = Parser(bytes: bytes, base: base, file: file)
    parser.skipWhitespace()
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    if parser.position < bytes.endIndex {
      throw parser.error(expected: "only JSON whitespace after the header's value")
    }
    return value
  }
}

/// A recursive-descent JSON parser over the header's bytes.
private struct Parser {
  let bytes: ArraySlice<UInt8>
  /// The file offset of `bytes.startIndex`.
  let base: Int
  let file: String
  var position: Int

  /// serde_json's default recursion limit of 128 stops at the 128th level, so 127 levels are
  /// the most the reference reads (checked against safetensors 0.8).
  static let maximumDepth = 127

  init(bytes: ArraySlice<UInt8>, base: Int, file: String) {
    self.bytes = bytes
    self.base = base
    self.file = file
    self.position = bytes.startIndex
  }

  /// An error at the current position, describing what stands there.
  func error(expected: String) -> FormatError {
    error(expected: expected, at: position)
  }

  func error(expected: String, at index: Int) -> FormatError {
    FormatError(
      file: file, location: .offset(base + index - bytes.startIndex), expected: expected,
      found: describeCharacter(at: index))
  }

  /// The character at `index` as a message shows it: `'x'`, `byte 0x00`, `U+FEFF`.
  func describeCharacter(at index: Int) -> String {
    guard index < bytes.endIndex else { return "the end of the header" }
    let byte = bytes[index]
    if (0x21...0x7E).contains(byte) { return "'\(Character(Unicode.Scalar(byte)))'" }
    if byte < 0x80 { return "byte 0x\(hex(byte, digits: 2))" }
    let tail = bytes[index...].prefix(4)
    var iterator = tail.makeIterator()
    var decoder = UTF8()
    if case .scalarValue(let scalar) = decoder.decode(&iterator) {
      return "U+\(hex(scalar.value, digits: 4))"
    }
    return "byte 0x\(hex(byte, digits: 2))"
  }

  func peek() -> UInt8? {
    position < bytes.endIndex ? bytes[position] : nil
  }

  mutating func skipWhitespace() {
    while let byte = peek(), byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
      position += 1
    }
  }

  mutating func parseValue(depth: Int) throws(FormatError) -> HeaderJSON {
    guard let byte = peek() else { throw error(expected: "a JSON value") }
    switch byte {
    case UInt8(ascii: "{"):
      return try parseObject(depth: depth + 1)
    case UInt8(ascii: "["):
      return try parseArray(depth: depth + 1)
    case UInt8(ascii: "\""):
      return .string(try parseString())
    case UInt8(ascii: "t"):
      try parseLiteral("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try parseLiteral("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try parseLiteral("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return .number(try parseNumber())
    default:
      throw error(expected: "a JSON value")
    }
  }

  mutating func parseObject(depth: Int) throws(FormatError) -> HeaderJSON {
    guard depth <= Self.maximumDepth else {
      throw error(expected: "JSON nested at most \(Self.maximumDepth) levels deep")
    }
    position += 1
    var members: [(key: String, value: HeaderJSON)] = []
    skipWhitespace()
    if peek() == UInt8(ascii: "}") {
      position += 1
      return .object(members)
    }
    while true {
      skipWhitespace()
      guard peek() == UInt8(ascii: "\"") else { throw error(expected: "a string key") }
      let key = try parseString()
      skipWhitespace()
      guard peek() == UInt8(ascii: ":") else { throw error(expected: "':' after a key") }
      position += 1
      skipWhitespace()
      members.append((key, try parseValue(depth: depth)))
      skipWhitespace()
      switch peek() {
      case UInt8(ascii: ","):
        position += 1
      case UInt8(ascii: "}"):
        position += 1
        return .object(members)
      default:
        throw error(expected: "',' or '}' in an object")
      }
    }
  }

  mutating func parseArray(depth: Int) throws(FormatError) -> HeaderJSON {
    guard depth <= Self.maximumDepth else {
      throw error(expected: "JSON nested at most \(Self.maximumDepth) levels deep")
    }
    position += 1
    var elements: [HeaderJSON] = []
    skipWhitespace()
    if peek() == UInt8(ascii: "]") {
      position += 1
      return .array(elements)
    }
    while true {
      skipWhitespace()
      elements.append(try parseValue(depth: depth))
      skipWhitespace()
      switch peek() {
      case UInt8(ascii: ","):
        position += 1
      case UInt8(ascii: "]"):
        position += 1
        return .array(elements)
      default:
        throw error(expected: "',' or ']' in an array")
      }
    }
  }

  mutating func parseLiteral(_ literal: String) throws(FormatError) {
    for expected in literal.utf8 {
      guard peek() == expected else { throw error(expected: "the literal \(literal)") }
      position += 1
    }
  }

  /// A number's literal text, checked against the JSON grammar
  /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
  mutating func parseNumber() throws(FormatError) -> String {
    let start = position
    if peek() == UInt8(ascii: "-") { position += 1 }
    if peek() == UInt8(ascii: "0") {
      position += 1
    } else {
      try digits()
    }
    if peek() == UInt8(ascii: ".") {
      position += 1
      try digits()
    }
    if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
      position += 1
      if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { position += 1 }
      try digits()
    }
    return String(decoding: bytes[start..<position], as: UTF8.self)
  }

  mutating func digits() throws(FormatError) {
    guard let byte = peek(), (0x30...0x39).contains(byte) else {
      throw error(expected: "a digit")
    }
    while let byte = peek(), (0x30...0x39).contains(byte) { position += 1 }
  }

  /// A string's unescaped text; the opening quote is at `position`.
  mutating func parseString() throws(FormatError) -> String {
    position += 1
    var text: [UInt8] = []
    while true {
      guard let byte = peek() else { throw error(expected: "a closing '\"'") }
      switch byte {
      case UInt8(ascii: "\""):
        position += 1
        return String(decoding: text, as: UTF8.self)
      case UInt8(ascii: "\\"):
        position += 1
        try appendEscape(to: &text)
      case 0..<0x20:
        throw error(expected: "a control character escaped in a string")
      default:
        // The header was validated as UTF-8, so multi-byte sequences are copied as they are.
        text.append(byte)
        position += 1
      }
    }
  }

  mutating func appendEscape(to text: inout [UInt8]) throws(FormatError) {
    guard let letter = peek() else { throw error(expected: "an escape character") }
    let simple: UInt8? =
      switch letter {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): letter
      case UInt8(ascii: "b"): 0x08
      case UInt8(ascii: "f"): 0x0C
      case UInt8(ascii: "n"): 0x0A
      case UInt8(ascii: "r"): 0x0D
      case UInt8(ascii: "t"): 0x09
      default: nil
      }
    if let simple {
      text.append(simple)
      position += 1
      return
    }
    guard letter == UInt8(ascii: "u") else {
      throw error(expected: "one of \" \\ / b f n r t u after '\\'")
    }
    let escapeStart = position - 1
    position += 1
    var value = try hexQuad()
    if (0xD800..<0xDC00).contains(value) {
      // A high surrogate must be followed by an escaped low surrogate (serde_json rejects a
      // lone surrogate when it produces a string).
      guard peek() == UInt8(ascii: "\\"), position + 1 < bytes.endIndex,
        bytes[position + 1] == UInt8(ascii: "u")
      else { throw error(expected: "a low surrogate escape after a high surrogate") }
      position += 2
      let low = try hexQuad()
      guard (0xDC00..<0xE000).contains(low) else {
        throw error(expected: "a low surrogate (\\uDC00-\\uDFFF)", at: position - 6)
      }
      value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
    } else if (0xDC00..<0xE000).contains(value) {
      throw error(expected: "a high surrogate before a low surrogate", at: escapeStart)
    }
    guard let scalar = Unicode.Scalar(value) else {
      throw error(expected: "a Unicode scalar", at: escapeStart)
    }
    text.append(contentsOf: String(Character(scalar)).utf8)
  }

  mutating func hexQuad() throws(FormatError) -> UInt32 {
    var value: UInt32 = 0
    for _ in 0..<4 {
      guard let byte = peek(), let digit = hexValue(byte) else {
        throw error(expected: "4 hexadecimal digits after '\\u'")
      }
      value = value << 4 | digit
      position += 1
    }
    return value
  }

  func hexValue(_ byte: UInt8) -> UInt32? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
    default: nil
    }
  }
}

/// `value` in upper-case hexadecimal, zero-padded to `digits`.
func hex(_ value: some BinaryInteger, digits: Int) -> String {
  let text = String(value, radix: 16, uppercase: true)
  return String(repeating: "0", count: max(0, digits - text.count)) + text
}
