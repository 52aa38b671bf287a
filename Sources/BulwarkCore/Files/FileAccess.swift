import Foundation

/// Reads, writes and checks of a user's paths, each failure a ``FileAccessError`` in plain words.
///
/// Writes are atomic (a temporary file renamed into place), so a run that is interrupted or fails
/// never leaves half a file; commands check their output paths with ``checkWritable(_:)`` before
/// any work starts, so a long run is not lost to a missing folder at its end.
package enum FileAccess {
  /// What is at a path.
  package enum Kind: Equatable, Sendable {
    /// Nothing.
    case missing
    /// A regular file (after following symbolic links).
    case file
    /// A folder (after following symbolic links).
    case folder
    /// Something else: a FIFO, a device, a socket, named as in a message (`a FIFO`).
    case other(String)
    /// A chain of symbolic links that does not end.
    case symbolicLinkLoop
  }

  /// What is at `path`, following symbolic links.
  package static func kind(of path: String) -> Kind {
    var status = stat()
    guard stat(path, &status) == 0 else {
      return errno == ELOOP ? .symbolicLinkLoop : .missing
    }
    switch status.st_mode & S_IFMT {
    case S_IFREG: return .file
    case S_IFDIR: return .folder
    case S_IFIFO: return .other("a FIFO")
    case S_IFCHR: return .other("a character device")
    case S_IFBLK: return .other("a block device")
    case S_IFSOCK: return .other("a socket")
    default: return .other("not a regular file")
    }
  }

  /// The bytes of the regular file at `url`, refusing devices, FIFOs and files above `limit`.
  /// - Parameters:
  ///   - url: The file.
  ///   - limit: The largest file read, in bytes; larger files are refused with the limit named.
  /// - Returns: The file's bytes.
  /// - Throws: `FileAccessError` naming the path and what is wrong.
  package static func contents(of url: URL, limit: Int = 1 << 34) throws(FileAccessError) -> Data {
    let path = url.path
    var status = stat()
    guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
      throw FileAccessError(
        path: path, operation: .read,
        reason: FileAccessError.diagnose(path: path, operation: .read) ?? "no such file")
    }
    if Int(status.st_size) > limit {
      throw FileAccessError(
        path: path, operation: .read,
        reason: "\(status.st_size) bytes is more than the limit of \(limit) bytes")
    }
    do {
      return try Data(contentsOf: url)
    } catch {
      throw FileAccessError(path: path, operation: .read, underlying: error)
    }
  }

  /// Writes `data` to `url` atomically: a reader sees the old file or the whole new one.
  /// - Throws: `FileAccessError` naming the path and what is wrong.
  package static func write(_ data: Data, to url: URL) throws(FileAccessError) {
    do {
      try data.write(to: url, options: .atomic)
    } catch {
      throw FileAccessError(path: url.path, operation: .write, underlying: error)
    }
  }

  /// Checks that a file can be written at `url` (its folder exists and is writable, and the path
  /// is not a folder) without writing anything: the check a command makes before its work.
  /// - Throws: `FileAccessError` naming the path and what is wrong.
  package static func checkWritable(_ url: URL) throws(FileAccessError) {
    if let reason = FileAccessError.diagnose(path: url.path, operation: .write) {
      throw FileAccessError(path: url.path, operation: .write, reason: reason)
    }
  }

  /// Checks that `url` is a folder that can be written to, or can be created (its nearest
  /// existing ancestor is a writable folder): the check a command makes before writing a run
  /// folder.
  /// - Throws: `FileAccessError` naming the path and what is wrong.
  package static func checkFolderWritable(_ url: URL) throws(FileAccessError) {
    var folder = url.standardizedFileURL
    while kind(of: folder.path) == .missing, folder.path != "/" {
      folder.deleteLastPathComponent()
    }
    switch kind(of: folder.path) {
    case .folder:
      if access(folder.path, W_OK) != 0 {
        throw FileAccessError(
          path: url.path, operation: .createFolder,
          reason: folder == url.standardizedFileURL
            ? "permission denied" : "permission denied in folder '\(folder.path)'")
      }
    case .file, .other:
      throw FileAccessError(
        path: url.path, operation: .createFolder,
        reason: folder == url.standardizedFileURL
          ? "a file of that name exists" : "'\(folder.path)' is not a folder")
    case .symbolicLinkLoop:
      throw FileAccessError(
        path: url.path, operation: .createFolder,
        reason: "too many levels of symbolic links in '\(folder.path)'")
    case .missing:
      throw FileAccessError(path: url.path, operation: .createFolder, reason: "no such folder")
    }
  }

  /// Creates the folder at `url` and any missing parents; an existing folder is fine.
  /// - Throws: `FileAccessError` naming the path and what is wrong.
  package static func createFolder(_ url: URL) throws(FileAccessError) {
    do {
      try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    } catch {
      throw FileAccessError(path: url.path, operation: .createFolder, underlying: error)
    }
  }
}
