import BulwarkCore

/// A key of a decoding path: an object key or an array index.
struct PathKey: CodingKey {
  var stringValue: String
  var intValue: Int?

  init(stringValue: String) {
    self.stringValue = stringValue
    intValue = nil
  }

  init(intValue: Int) {
    stringValue = "\(intValue)"
    self.intValue = intValue
  }
}

/// Renders a coding path as a user writes it: `preprocessors[1].window`.
func render(_ path: [any CodingKey]) -> String { dottedPath(path) }
