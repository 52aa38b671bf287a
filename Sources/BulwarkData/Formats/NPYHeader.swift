/// The header dictionary of a `.npy` file: `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (2, 3), }`, a Python literal (NumPy's `format.py`, `_read_array_header`).
struct NPYHeader: Equatable {
  /// The dtype string, e.g. `<f4`.
  var descr: String
  /// Whether the data is in Fortran (column-major) order.
  var fortranOrder: Bool
  /// The array's shape.
  var shape: [Int]

  /// Parses the dictionary literal `text`, which starts at byte `offset` of `file`.
  /// - Throws: `FormatError` when the literal is malformed, a key is missing or unknown, or a
  ///   value has the wrong type.
  init(parsing text: String, file: String, offset: Int) throws(FormatError) {
    var parser = PythonLiteralParser(text: text, file: file, offset: offset)
    let entries = try parser.parseHeader()
    var descr: String?
    var fortranOrder: Bool?
    var shape: [Int]?
    for (key, value) in entries {
      func wrongType(_ expected: String) -> FormatError {
        FormatError(
          file: file, location: .field(key), expected: expected, found: value.description)
      }
      switch key {
      case "descr":
        guard case .string(let string) = value else {
          if case .list = value {
            throw FormatError(
              file: file, location: .field(key), expected: "a plain dtype such as '<f4'",
              found: "a structured dtype, which is not supported")
          }
          throw wrongType("a dtype string such as '<f4'")
        }
        descr = string
      case "fortran_order":
        guard case .bool(let flag) = value else { throw wrongType("True or False") }
        fortranOrder = flag
      case "shape":
        guard case .tuple(let items) = value else {
          throw wrongType("a tuple of non-negative integers")
        }
        var sizes: [Int] = []
        for item in items {
          guard case .int(let size) = item, size >= 0 else {
            throw wrongType("a tuple of non-negative integers")
          }
          sizes.append(size)
        }
        shape = sizes
      default:
        throw FormatError(
          file: file, location: .field(key),
          expected: "only the keys 'descr', 'fortran_order' and 'shape'",
          found: "the key '\(key)'")
      }
    }
    for (key, present) in [
      ("descr", descr != nil), ("fortran_order", fortranOrder != nil), ("shape", shape != nil),
    ] where !present {
      throw FormatError(
        file: file, location: .field(key), expected: "the header key '\(key)'",
        found: "no such key")
    }
    self.descr = descr ?? ""
    self.fortranOrder = fortranOrder ?? false
    self.shape = shape ?? []
  }

  /// Creates a header for C-order data.
  init(descr: String, shape: [Int]) {
    self.descr = descr
    self.fortranOrder = false
    self.shape = shape
  }

  /// The dictionary exactly as NumPy 2.x writes it, before padding: keys sorted, Python
  /// `repr` values, a trailing `, `, and spare spaces that let the first axis grow to 21 digits
  /// (NumPy's `GROWTH_AXIS_MAX_DIGITS`).
  var literal: String {
    let sizes = shape.map(String.init)
    let shapeText =
      sizes.count == 1 ? "(\(sizes[0]),)" : "(" + sizes.joined(separator: ", ") + ")"
    let order = fortranOrder ? "True" : "False"
    let growth = sizes.first.map { String(repeating: " ", count: max(0, 21 - $0.count)) } ?? ""
    return "{'descr': '\(descr)', 'fortran_order': \(order), 'shape': \(shapeText), }" + growth
  }
}

/// A value of the Python literal subset that `.npy` headers use.
indirect enum PythonLiteral: Equatable, CustomStringConvertible {
  case string(String)
  case int(Int)
  case bool(Bool)
  case none
  case tuple([PythonLiteral])
  case list([PythonLiteral])

  /// The value in Python syntax, for error messages.
  var description: String {
    switch self {
    case .string(let string): "'\(string)'"
    case .int(let value): String(value)
    case .bool(let flag): flag ? "True" : "False"
    case .none: "None"
    case .tuple(let items):
      items.count == 1
        ? "(\(items[0]),)" : "(" + items.map(\.description).joined(separator: ", ") + ")"
    case .list(let items): "[" + items.map(\.description).joined(separator: ", ") + "]"
    }
  }
}

/// A recursive-descent parser for a dictionary literal with string keys.
struct PythonLiteralParser {
  let scalars: [Unicode.Scalar]
  let file: String
  let offset: Int
  var position = 0
  /// How many tuples or lists enclose the current value; bounded so that a hostile header
  /// cannot exhaust the stack.
  var depth = 0
  static let maximumDepth = 16

  init(text: String, file: String, offset: Int) {
    self.scalars = Array(text.unicodeScalars)
    self.file = file
    self.offset = offset
  }

  /// Parses `{key: value, ...}` followed only by whitespace.
  mutating func parseHeader() throws(FormatError) -> [(String, PythonLiteral)] {
    try expect("{")
    var entries: [(String, PythonLiteral)] = []
    while true {
      skipWhitespace()
      if peek == "}" { break }
      guard case .string(let key) = try parseValue() else {
        throw error(expected: "a string key", found: "a non-string key")
      }
      guard !entries.contains(where: { $0.0 == key }) else {
        throw error(expected: "each key once", found: "'\(key)' twice")
      }
      try expect(":")
      entries.append((key, try parseValue()))
      skipWhitespace()
      if peek == "," {
        position += 1
      } else {
        break
      }
    }
    try expect("}")
    skipWhitespace()
    guard position == scalars.count else {
      throw error(expected: "the end of the header after '}'", found: "'\(scalars[position])'")
    }
    return entries
  }

  private var peek: Unicode.Scalar? { position < scalars.count ? scalars[position] : nil }

  private mutating func skipWhitespace() {
    while let scalar = peek, scalar.properties.isWhitespace { position += 1 }
  }

  private func error(expected: String, found: String) -> FormatError {
    FormatError(
      file: file, location: .offset(offset + position), expected: "\(expected) in the header",
      found: found)
  }

  private mutating func expect(_ scalar: Unicode.Scalar) throws(FormatError) {
    skipWhitespace()
    guard peek == scalar else {
      throw error(expected: "'\(scalar)'", found: peek.map { "'\($0)'" } ?? "the end")
    }
    position += 1
  }

  private mutating func parseValue() throws(FormatError) -> PythonLiteral {
    skipWhitespace()
    guard let first = peek else { throw error(expected: "a value", found: "the end") }
    switch first {
    case "'", "\"":
      return .string(try parseString(quote: first))
    case "(", "[":
      guard depth < Self.maximumDepth else {
        throw error(
          expected: "at most \(Self.maximumDepth) nested tuples or lists", found: "more")
      }
      depth += 1
      defer { depth -= 1 }
      position += 1
      let close: Unicode.Scalar = first == "(" ? ")" : "]"
      var items: [PythonLiteral] = []
      var sawComma = false
      while true {
        skipWhitespace()
        if peek == close { break }
        items.append(try parseValue())
        skipWhitespace()
        guard peek == "," else { break }
        sawComma = true
        position += 1
      }
      try expect(close)
      if first == "[" { return .list(items) }
      // `(3)` is a parenthesised integer in Python, not a tuple.
      if items.count == 1 && !sawComma { return items[0] }
      return .tuple(items)
    case "-", "0"..."9":
      return .int(try parseInt())
    default:
      let start = position
      while let scalar = peek, scalar.properties.isAlphabetic || scalar == "_" { position += 1 }
      let word = String(String.UnicodeScalarView(scalars[start..<position]))
      switch word {
      case "True": return .bool(true)
      case "False": return .bool(false)
      case "None": return .none
      default:
        position = start
        throw error(expected: "a Python literal", found: "'\(word.isEmpty ? "\(first)" : word)'")
      }
    }
  }

  private mutating func parseString(quote: Unicode.Scalar) throws(FormatError) -> String {
    position += 1
    var result = String.UnicodeScalarView()
    while let scalar = peek {
      position += 1
      if scalar == quote { return String(result) }
      if scalar == "\\" {
        guard let escaped = peek else { break }
        position += 1
        result.append(escaped == "n" ? "\n" : escaped == "t" ? "\t" : escaped)
      } else {
        result.append(scalar)
      }
    }
    throw error(expected: "a closing \(quote)", found: "the end")
  }

  private mutating func parseInt() throws(FormatError) -> Int {
    let start = position
    if peek == "-" { position += 1 }
    while let scalar = peek, ("0"..."9").contains(scalar) { position += 1 }
    let digits = String(String.UnicodeScalarView(scalars[start..<position]))
    // Python 2 wrote long integers with an `L` suffix.
    if peek == "L" { position += 1 }
    guard let value = Int(digits) else {
      throw error(expected: "an integer that fits in 64 bits", found: "'\(digits)'")
    }
    return value
  }
}
