/// `text` with its control characters escaped, for messages that quote a file's bytes: a header
/// holding an escape sequence or a carriage return must not redraw the user's terminal.
///
/// Tab, line feed and carriage return read `\t`, `\n`, `\r`; other C0 controls, DEL and the C1
/// controls read `\x1B`-style; everything else stays as it is.
/// - Parameter text: The text to print.
/// - Returns: The text with every control character escaped.
package func printableText(_ text: String) -> String {
  guard text.unicodeScalars.contains(where: \.properties.isControl) else { return text }
  var result = String.UnicodeScalarView()
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\t": result.append(contentsOf: "\\t".unicodeScalars)
    case "\n": result.append(contentsOf: "\\n".unicodeScalars)
    case "\r": result.append(contentsOf: "\\r".unicodeScalars)
    case _ where scalar.properties.isControl:
      let hex = String(scalar.value, radix: 16, uppercase: true)
      let padded = String(repeating: "0", count: max(0, 2 - hex.count)) + hex
      result.append(contentsOf: "\\x\(padded)".unicodeScalars)
    default: result.append(scalar)
    }
  }
  return String(result)
}

extension Unicode.Scalar.Properties {
  /// Whether the scalar is a C0 or C1 control character or DEL (general category Cc).
  fileprivate var isControl: Bool { generalCategory == .control }
}
