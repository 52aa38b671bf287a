/// A file that does not follow its format: what was read, where, what was expected and found.
///
/// Every reader in Bulwark (IDX, NumPy, zip, image folders, model files) throws this error for
/// malformed input, so a user sees the file, the position and the reason in one line:
/// `t10k-images.idx: offset 2: expected data type 0x08 (unsigned byte), found 0x0d`.
public struct FormatError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Where in the file the problem lies.
  public enum Location: Equatable, Sendable, CustomStringConvertible {
    /// A byte offset from the start of the file (or of the decompressed stream).
    case offset(Int)
    /// A named field, header key or archive member.
    case field(String)
    /// The file as a whole (its length, its existence).
    case whole

    /// The location as it appears in a message: `offset 16`, `field 'descr'`, or nothing.
    public var description: String {
      switch self {
      case .offset(let offset): "offset \(offset)"
      case .field(let name): "field '\(name)'"
      case .whole: "file"
      }
    }
  }

  /// The file's path, or a description of the in-memory source.
  public var file: String
  /// Where in the file the problem lies.
  public var location: Location
  /// What the format requires at that place.
  public var expected: String
  /// What the file holds instead.
  public var found: String

  /// Creates an error for a malformed file.
  /// - Parameters:
  ///   - file: The file's path, or a description of an in-memory source.
  ///   - location: Where in the file the problem lies.
  ///   - expected: What the format requires there.
  ///   - found: What the file holds instead.
  public init(file: String, location: Location, expected: String, found: String) {
    self.file = file
    self.location = location
    self.expected = expected
    self.found = found
  }

  /// `file: location: expected …, found …`, on one line: control characters a file put in
  /// a name or a value are escaped (`\x1B`), never printed raw.
  public var description: String {
    printableText("\(file): \(location): expected \(expected), found \(found)")
  }
}
