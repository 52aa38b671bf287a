/// A coding path as a user writes it in a file: `preprocessors[1].window`, `layers[2].out`;
/// empty for the root. Pipeline files and model architectures word their errors with it.
/// - Parameter path: The keys from the root.
/// - Returns: The path.
package func dottedPath(_ path: [any CodingKey]) -> String {
  var text = ""
  for key in path {
    if let index = key.intValue {
      text += "[\(index)]"
    } else {
      text += text.isEmpty ? key.stringValue : "." + key.stringValue
    }
  }
  return text
}
