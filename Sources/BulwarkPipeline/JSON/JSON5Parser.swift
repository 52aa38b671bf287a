/// Parses JSON5 text (https://json5.org) into a `JSONValue`, reporting the line and column of
/// the first error.
///
/// Our own parser rather than Foundation's: `JSONDecoder.allowsJSON5` on Linux reports only
/// "The given data was not valid JSON." with no position, and a user needs the line and column.
/// Supported: `//` and `/* */` comments, trailing commas, unquoted identifier keys, single- and
/// double-quoted strings with escapes and line continuations, hexadecimal integers, leading `+`,
/// leading or trailing decimal points, `Infinity` and `NaN`. As the specification requires, a
/// decimal number has no leading zeros (`003`), and a key appears once in an object (JSON5
/// leaves duplicates to the implementation; a pipeline file that says `classifier` twice is
/// an error, named by its key path).
struct JSON5Parser {
  private let bytes: [UInt8]
  private var index = 0
  private let file: String

  /// Creates a parser over UTF-8 text.
  /// - Parameters:
  ///   - text: The document.
  ///   - file: The file name errors carry.
  init(_ text: String, file: String) {
    bytes = Array(text.utf8)
    self.file = file
  }

  /// Parses the whole document: one value, then only whitespace and comments.
  /// - Returns: The value.
  /// - Throws: `PipelineError` with the line and column of the first unexpected character.
  mutating func parse() throws(PipelineError) -> JSONValue {
    let value = try parseValue(path: [])
    try skipTrivia()
    if index < bytes.count { throw failure("expected the end of the document") }
    return value
  }

  private static let maximumDepth = 200

  /// Parses the value at `path`, the keys and indices that lead to it from the root.
  private mutating func parseValue(path: [PathKey]) throws(PipelineError) -> JSONValue {
    guard path.count < Self.maximumDepth else { throw failure("nested too deeply") }
    try skipTrivia()
    guard let byte = peek() else { throw failure("expected a value, found the end of the file") }
    switch byte {
    case UInt8(ascii: "{"): return try parseObject(path: path)
    case UInt8(ascii: "["): return try parseArray(path: path)
    case UInt8(ascii: "\""), UInt8(ascii: "'"): return .string(try parseString())
    default:
      if isNumberStart(byte) { return .number(try parseNumber()) }
      let start = index
      let word = parseIdentifier()
      switch word {
      case "true": return .bool(true)
      case "false": return .bool(false)
      case "null": return .null
      case "Infinity": return .number(.infinity)
      case "NaN": return .number(.nan)
      default:
        index = start
        throw failure("expected a value")
      }
    }
  }

  private mutating func parseObject(path: [PathKey]) throws(PipelineError) -> JSONValue {
    index += 1
    var members: [JSONValue.Member] = []
    // Where each key starts; lines are counted only for a duplicate.
    var keyStarts: [String: Int] = [:]
    while true {
      try skipTrivia()
      guard let byte = peek() else { throw failure("expected '}', found the end of the file") }
      if byte == UInt8(ascii: "}") {
        index += 1
        return .object(members)
      }
      let key: String
      let keyStart = index
      if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
        key = try parseString()
      } else {
        key = parseIdentifier()
        if key.isEmpty { throw failure("expected a key or '}'") }
      }
      let keyPath = path + [PathKey(stringValue: key)]
      if let first = keyStarts.updateValue(keyStart, forKey: key) {
        throw PipelineError(
          file: file, path: render(keyPath),
          message: "the key '\(key)' appears twice in one object (lines "
            + "\(lineNumber(at: first)) and \(lineNumber(at: keyStart))); keep one")
      }
      try skipTrivia()
      guard peek() == UInt8(ascii: ":") else { throw failure("expected ':' after the key") }
      index += 1
      members.append(JSONValue.Member(key: key, value: try parseValue(path: keyPath)))
      try skipTrivia()
      if peek() == UInt8(ascii: ",") {
        index += 1
      } else if peek() != UInt8(ascii: "}") {
        throw failure("expected ',' or '}'")
      }
    }
  }

  private mutating func parseArray(path: [PathKey]) throws(PipelineError) -> JSONValue {
    index += 1
    var elements: [JSONValue] = []
    while true {
      try skipTrivia()
      guard let byte = peek() else { throw failure("expected ']', found the end of the file") }
      if byte == UInt8(ascii: "]") {
        index += 1
        return .array(elements)
      }
      elements.append(try parseValue(path: path + [PathKey(intValue: elements.count)]))
      try skipTrivia()
      if peek() == UInt8(ascii: ",") {
        index += 1
      } else if peek() != UInt8(ascii: "]") {
        throw failure("expected ',' or ']'")
      }
    }
  }

  private mutating func parseString() throws(PipelineError) -> String {
    let quote = bytes[index]
    index += 1
    var result: [UInt8] = []
    while true {
      guard let byte = peek() else { throw failure("unterminated string") }
      index += 1
      if byte == quote { break }
      if byte == UInt8(ascii: "\n") {
        index -= 1
        throw failure("unterminated string (a line break inside quotes needs a backslash)")
      }
      guard byte == UInt8(ascii: "\\") else {
        result.append(byte)
        continue
      }
      guard let escaped = peek() else { throw failure("unterminated string") }
      index += 1
      switch escaped {
      case UInt8(ascii: "n"): result.append(10)
      case UInt8(ascii: "t"): result.append(9)
      case UInt8(ascii: "r"): result.append(13)
      case UInt8(ascii: "b"): result.append(8)
      case UInt8(ascii: "f"): result.append(12)
      case UInt8(ascii: "0"): result.append(0)
      case UInt8(ascii: "\n"): break
      case UInt8(ascii: "u"):
        guard index + 4 <= bytes.count,
          let code = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
          let scalar = Unicode.Scalar(code)
        else { throw failure("expected four hexadecimal digits after \\u") }
        index += 4
        result.append(contentsOf: Array(String(Character(scalar)).utf8))
      default: result.append(escaped)
      }
    }
    return String(decoding: result, as: UTF8.self)
  }

  private func isNumberStart(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
      || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".")
  }

  private mutating func parseNumber() throws(PipelineError) -> Double {
    let start = index
    var sign = 1.0
    if peek() == UInt8(ascii: "-") || peek() == UInt8(ascii: "+") {
      sign = peek() == UInt8(ascii: "-") ? -1 : 1
      index += 1
    }
    let bodyStart = index
    while let byte = peek(), isNumberCharacter(byte) { index += 1 }
    switch Self.numberValue(bytes[bodyStart..<index]) {
    case .success(let value):
      return sign * value
    case .failure(let problem):
      index = start
      throw failure(problem.message)
    }
  }

  /// Why a number's text is not a JSON5 number.
  enum NumberProblem: Error {
    case malformed
    case leadingZero

    var message: String {
      switch self {
      case .malformed: "malformed number"
      case .leadingZero:
        "a number with a leading zero (JSON5 numbers are decimal: write 3, not 003)"
      }
    }
  }

  /// The value of a JSON5 number after its sign: ECMAScript 5.1's NumericLiteral
  /// (`0x1F`, `12`, `1.5`, `.5`, `5.`, `1e-3`, no leading zeros), `Infinity` or `NaN`.
  static func numberValue(_ text: ArraySlice<UInt8>) -> Result<Double, NumberProblem> {
    let body = Array(text)
    switch String(decoding: body, as: UTF8.self) {
    case "Infinity": return .success(.infinity)
    case "NaN": return .success(.nan)
    default: break
    }
    func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    if body.count >= 2, body[0] == UInt8(ascii: "0"), body[1] | 0x20 == UInt8(ascii: "x") {
      // A hexadecimal integer: exact up to 2^53, rounded beyond, as JavaScript reads it.
      guard body.count > 2 else { return .failure(.malformed) }
      var value = 0.0
      for byte in body[2...] {
        guard let digit = Int(String(UnicodeScalar(byte)), radix: 16) else {
          return .failure(.malformed)
        }
        value = value * 16 + Double(digit)
      }
      return .success(value)
    }
    var position = 0
    func digits() -> String {
      let first = position
      while position < body.count, isDigit(body[position]) { position += 1 }
      return String(decoding: body[first..<position], as: UTF8.self)
    }
    let integer = digits()
    if integer.count > 1, integer.hasPrefix("0") { return .failure(.leadingZero) }
    var fraction = ""
    if position < body.count, body[position] == UInt8(ascii: ".") {
      position += 1
      fraction = digits()
    }
    guard !(integer.isEmpty && fraction.isEmpty) else { return .failure(.malformed) }
    var exponent = "0"
    if position < body.count, body[position] | 0x20 == UInt8(ascii: "e") {
      position += 1
      var exponentSign = ""
      if position < body.count,
        body[position] == UInt8(ascii: "-") || body[position] == UInt8(ascii: "+")
      {
        exponentSign = String(UnicodeScalar(body[position]))
        position += 1
      }
      let exponentDigits = digits()
      guard !exponentDigits.isEmpty else { return .failure(.malformed) }
      exponent = exponentSign + exponentDigits
    }
    guard position == body.count else { return .failure(.malformed) }
    let text = "\(integer.isEmpty ? "0" : integer).\(fraction.isEmpty ? "0" : fraction)e\(exponent)"
    guard let value = Double(text) else { return .failure(.malformed) }
    return .success(value)
  }

  private func isNumberCharacter(_ byte: UInt8) -> Bool {
    isIdentifierByte(byte) || byte == UInt8(ascii: ".")
      || ((byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-"))
        && index > 0 && (bytes[index - 1] | 0x20) == UInt8(ascii: "e")
        && !(index > 1 && bytes[index - 2] == UInt8(ascii: "0")
          && (bytes[index - 1] | 0x20) == UInt8(ascii: "x")))
  }

  private func isIdentifierByte(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
      || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "_")
      || byte == UInt8(ascii: "$") || byte >= 0x80
  }

  private mutating func parseIdentifier() -> String {
    let start = index
    while let byte = peek(), isIdentifierByte(byte) { index += 1 }
    return String(decoding: bytes[start..<index], as: UTF8.self)
  }

  private mutating func skipTrivia() throws(PipelineError) {
    while let byte = peek() {
      if byte == 32 || byte == 9 || byte == 10 || byte == 13 {
        index += 1
      } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count,
        bytes[index + 1] == UInt8(ascii: "/")
      {
        while let next = peek(), next != 10 { index += 1 }
      } else if byte == UInt8(ascii: "/"), index + 1 < bytes.count,
        bytes[index + 1] == UInt8(ascii: "*")
      {
        let start = index
        index += 2
        while index + 1 < bytes.count
          && !(bytes[index] == UInt8(ascii: "*") && bytes[index + 1] == UInt8(ascii: "/"))
        {
          index += 1
        }
        guard index + 1 < bytes.count else {
          index = start
          throw failure("unterminated /* comment")
        }
        index += 2
      } else {
        return
      }
    }
  }

  private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

  /// The 1-based line of byte `position`.
  private func lineNumber(at position: Int) -> Int {
    1 + bytes[..<min(position, bytes.count)].lazy.filter { $0 == 10 }.count
  }

  /// An error at the current position, with 1-based line and column (columns count
  /// characters, not bytes).
  private func failure(_ message: String) -> PipelineError {
    var line = 1
    var lineStart = 0
    for position in 0..<min(index, bytes.count) where bytes[position] == 10 {
      line += 1
      lineStart = position + 1
    }
    let column =
      String(decoding: bytes[lineStart..<min(index, bytes.count)], as: UTF8.self).count + 1
    var found = "the end of the file"
    if index < bytes.count {
      let end = bytes[index...].firstIndex { $0 == 10 || $0 == 32 } ?? bytes.count
      found = "'" + String(decoding: bytes[index..<min(end, index + 12)], as: UTF8.self) + "'"
    }
    return PipelineError(
      file: file, path: "line \(line), column \(column)",
      message: "malformed JSON5: \(message)"
        + (message.contains("end of the file") ? "" : ", found \(found)"))
  }
}
