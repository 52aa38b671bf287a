import BulwarkCore
import Foundation

/// A NumPy `.npz` archive: named arrays in a zip file, one `.npy` member per array, as
/// `np.savez` and `np.savez_compressed` write them.
///
/// Member `x.npy` holds the array named `x`. Entries keep their order.
public struct NPZArchive: Equatable, Sendable {
  /// One named array of an archive.
  public struct Entry: Equatable, Sendable {
    /// The array's name, without the `.npy` suffix of its member.
    public var name: String
    /// The array.
    public var array: NDArray

    /// Creates an entry.
    /// - Parameters:
    ///   - name: The array's name, without `.npy`.
    ///   - array: The array.
    public init(name: String, array: NDArray) {
      self.name = name
      self.array = array
    }
  }

  /// The named arrays, in archive order.
  public private(set) var entries: [Entry]

  /// The arrays' names, in archive order.
  public var names: [String] { entries.map(\.name) }

  /// Creates an archive of `entries`.
  /// - Parameter entries: The named arrays, in order.
  /// - Precondition: the names are distinct.
  public init(_ entries: [Entry] = []) {
    precondition(Set(entries.map(\.name)).count == entries.count, "duplicate array names")
    self.entries = entries
  }

  /// Creates an archive from a literal such as `["x": images, "y": labels]`, in that order.
  /// - Parameter arrays: The named arrays, in order.
  /// - Precondition: the names are distinct.
  public init(_ arrays: KeyValuePairs<String, NDArray>) {
    self.init(arrays.map { Entry(name: $0.key, array: $0.value) })
  }

  /// Reads a `.npz` file.
  /// - Parameter url: The file.
  /// - Throws: `FileAccessError` when the file cannot be read; `FormatError` when it is
  ///   malformed, see ``init(decoding:file:)``.
  public init(contentsOf url: URL) throws {
    try self.init(decoding: [UInt8](try FileAccess.contents(of: url)), file: url.path)
  }

  /// Decodes the bytes of a `.npz` file, stored or deflated, zip64 or not.
  /// - Parameters:
  ///   - bytes: The file's contents.
  ///   - file: The file's name, for error messages.
  /// - Throws: `FormatError` naming the archive and the member when the zip structure is
  ///   truncated or corrupt, a CRC-32 does not match, a member is not named `*.npy`, two
  ///   members share a name, or a member is not a `.npy` file Bulwark reads.
  public init(decoding bytes: [UInt8], file: String) throws(FormatError) {
    var entries: [Entry] = []
    for member in try ZipArchive.members(of: bytes, file: file) {
      guard member.name.hasSuffix(".npy"), member.name.count > 4 else {
        throw FormatError(
          file: file, location: .field(member.name), expected: "a member named NAME.npy",
          found: "'\(member.name)'")
      }
      let name = String(member.name.dropLast(4))
      guard !entries.contains(where: { $0.name == name }) else {
        throw FormatError(
          file: file, location: .field(member.name), expected: "each member once",
          found: "a second '\(member.name)'")
      }
      try Self.checkDeclaredSize(of: member, in: bytes, file: file)
      let data = try ZipArchive.contents(of: member, in: bytes, file: file)
      let array = try NPYFile.decode(data, file: "\(file) (member \(member.name))")
      entries.append(Entry(name: name, array: array))
    }
    self.entries = entries
  }

  /// The most bytes of a member read to find its `.npy` header: NumPy's own reader refuses
  /// headers over 10,000 bytes unless told otherwise.
  static let headerProbeSize = 1 << 20

  /// Checks the member's declared uncompressed size against the size its `.npy` header's shape
  /// and type give, reading only the header: a member that would inflate to gigabytes while
  /// its header describes 20 images is refused before it is decompressed.
  /// - Throws: `FormatError` at the member when the header does not fit in
  ///   ``headerProbeSize`` bytes or the sizes differ.
  private static func checkDeclaredSize(
    of member: ZipArchive.Member, in bytes: [UInt8], file: String
  ) throws(FormatError) {
    // A small member is read whole, and the .npy reader names any problem at its offset.
    guard member.size > headerProbeSize else { return }
    let head = try ZipArchive.prefix(
      of: member, count: headerProbeSize, in: bytes, file: file)
    guard
      let layout = try NPYFile.Layout(prefix: head, file: "\(file) (member \(member.name))")
    else {
      throw FormatError(
        file: file, location: .field(member.name),
        expected: "a .npy header within the first \(headerProbeSize) bytes",
        found: "none in a member of \(member.size) bytes")
    }
    let length = layout.dataStart + layout.dataLength
    guard length == member.size else {
      throw FormatError(
        file: file, location: .field(member.name),
        expected: "\(length) bytes, as the .npy header's shape \(layout.shapeText) of "
          + "'\(layout.header.descr)' needs",
        found: "a declared size of \(member.size) bytes")
    }
  }

  /// The array named `name`; setting replaces it in place, appends a new one, or removes it
  /// when set to `nil`.
  /// - Parameter name: The array's name, without `.npy`.
  public subscript(name: String) -> NDArray? {
    get { entries.first { $0.name == name }?.array }
    set {
      let index = entries.firstIndex { $0.name == name }
      switch (index, newValue) {
      case (let index?, let array?): entries[index].array = array
      case (let index?, nil): entries.remove(at: index)
      case (nil, let array?): entries.append(Entry(name: name, array: array))
      case (nil, nil): break
      }
    }
  }

  /// The archive as the bytes of a zip file that `np.load` reads.
  /// - Parameter compressed: Whether to deflate the members, as `np.savez_compressed` does;
  ///   otherwise they are stored, as `np.savez` does.
  /// - Returns: The `.npz` file's bytes; equal archives give equal bytes.
  public func encoded(compressed: Bool = false) -> [UInt8] {
    encoded(compressed: compressed, forceZip64: false)
  }

  /// The archive's bytes, optionally with zip64 records whatever the sizes.
  func encoded(compressed: Bool, forceZip64: Bool) -> [UInt8] {
    ZipArchive.encode(
      entries.map { (name: $0.name + ".npy", data: NPYFile.encode($0.array)) },
      compressed: compressed, forceZip64: forceZip64)
  }

  /// Writes the archive to a `.npz` file.
  /// - Parameters:
  ///   - url: The file to create or replace.
  ///   - compressed: Whether to deflate the members, as `np.savez_compressed` does.
  /// - Throws: `FileAccessError` when the file cannot be written.
  public func write(to url: URL, compressed: Bool = false) throws {
    try FileAccess.write(Data(encoded(compressed: compressed)), to: url)
  }
}
