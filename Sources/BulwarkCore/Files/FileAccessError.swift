import Foundation

/// A file or folder that the file system would not let Bulwark use, in plain words:
/// `runs/model.safetensors: cannot write: no such folder 'runs'`.
///
/// Every read and write of a user's path goes through ``FileAccess``, which throws this error, so
/// no Foundation or POSIX error description reaches the user.
public struct FileAccessError: Error, Equatable, Sendable, CustomStringConvertible {
  /// What Bulwark tried to do with the path.
  public enum Operation: String, Equatable, Sendable {
    /// Read a file.
    case read
    /// Write (create or replace) a file.
    case write
    /// List a folder's entries.
    case list
    /// Create a folder.
    case createFolder = "create folder"
    /// Remove a file or folder.
    case remove
  }

  /// The path as the user gave it (or as Bulwark derived it from the user's path).
  public var path: String
  /// What Bulwark tried to do.
  public var operation: Operation
  /// What is wrong, in plain words: `no such file`, `permission denied`.
  public var reason: String

  /// Creates an error for a path the file system refused.
  /// - Parameters:
  ///   - path: The path.
  ///   - operation: What Bulwark tried to do with it.
  ///   - reason: What is wrong, in plain words.
  public init(path: String, operation: Operation, reason: String) {
    self.path = path
    self.operation = operation
    self.reason = reason
  }

  /// Words a file system error that Foundation threw for `path`: the path is examined again
  /// (missing, a folder, not writable), and the operating system's own reason is the fallback.
  /// - Parameters:
  ///   - path: The path that the failed operation used.
  ///   - operation: What the failed operation tried to do.
  ///   - error: The error Foundation threw.
  public init(path: String, operation: Operation, underlying error: any Error) {
    self.init(
      path: path, operation: operation,
      reason: Self.diagnose(path: path, operation: operation)
        ?? Self.systemReason(of: error) ?? "the file system refused")
  }

  /// `path: cannot operation: reason`.
  public var description: String {
    "\(path): cannot \(operation.rawValue): \(reason)"
  }

  /// The reason a path cannot be used for `operation`, found by looking at it, or `nil` when it
  /// looks usable (the failure lies elsewhere: a full disk, a race).
  static func diagnose(path: String, operation: Operation) -> String? {
    let url = URL(fileURLWithPath: path)
    switch operation {
    case .read, .list, .remove:
      switch FileAccess.kind(of: path) {
      case .missing:
        let folder = url.deletingLastPathComponent().path
        if folder != path, FileAccess.kind(of: folder) == .missing {
          return "no such folder '\(folder)'"
        }
        return operation == .list ? "no such folder" : "no such file"
      case .folder where operation == .read: return "it is a folder, not a file"
      case .file where operation == .list: return "it is a file, not a folder"
      case .other(let kind): return "it is \(kind), not a regular file"
      case .symbolicLinkLoop: return "too many levels of symbolic links (a loop?)"
      case .file, .folder:
        if access(path, R_OK) != 0 { return "permission denied" }
        return nil
      }
    case .write, .createFolder:
      switch FileAccess.kind(of: path) {
      case .folder where operation == .write: return "it is a folder"
      case .file where operation == .createFolder: return "a file of that name exists"
      case .other(let kind): return "it is \(kind)"
      case .symbolicLinkLoop: return "too many levels of symbolic links (a loop?)"
      case .file, .folder:
        if access(path, W_OK) != 0 { return "permission denied" }
      case .missing: break
      }
      let folder = url.deletingLastPathComponent().path
      switch FileAccess.kind(of: folder) {
      case .missing: return "no such folder '\(folder)'"
      case .folder:
        if access(folder, W_OK) != 0 { return "permission denied in folder '\(folder)'" }
        return nil
      case .file, .other: return "'\(folder)' is not a folder"
      case .symbolicLinkLoop: return "too many levels of symbolic links in '\(folder)'"
      }
    }
  }

  /// The operating system's reason inside a Foundation error, without Foundation's wrapping.
  private static func systemReason(of error: any Error) -> String? {
    let nsError = error as NSError
    if nsError.domain == NSPOSIXErrorDomain {
      return String(cString: strerror(Int32(nsError.code))).lowercased()
    }
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
      underlying.domain == NSPOSIXErrorDomain
    {
      return String(cString: strerror(Int32(underlying.code))).lowercased()
    }
    switch CocoaError.Code(rawValue: nsError.code) {
    case .fileWriteOutOfSpace: return "no space left on the device"
    case .fileWriteVolumeReadOnly: return "read-only file system"
    case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
    case .fileReadTooLarge: return "too large to read"
    default: return nil
    }
  }
}
