import BulwarkCore
import Foundation

/// Where a labelled image set comes from: a built-in data set, an `.npz` archive, a folder of
/// images, or a pair of IDX files.
public enum DataSource: Equatable, Sendable, CustomStringConvertible {
  /// A data set Bulwark knows by name (`fashion-mnist:test`).
  case builtin(BuiltinDataset)
  /// An `.npz` archive with arrays `x` and `y`.
  case npz(URL)
  /// A folder with one subfolder of images per class.
  case folder(URL)
  /// An IDX images file and its IDX labels file.
  case idx(images: URL, labels: URL)

  /// Resolves what a user typed: a built-in name, a folder, an `.npz` file, or an IDX images
  /// file whose labels file is `labels` or, when nil, found beside it by the standard naming
  /// (`…-images-idx3-ubyte[.gz]` → `…-labels-idx1-ubyte[.gz]`).
  /// - Parameters:
  ///   - text: The source as typed.
  ///   - labels: An explicit IDX labels file, or nil.
  ///   - base: The folder relative paths resolve against (the current folder when nil).
  /// - Throws: `DataSourceError` when nothing is at the path, the kind cannot be told, or an
  ///   IDX labels file cannot be found.
  public init(_ text: String, labels: String? = nil, relativeTo base: URL? = nil) throws {
    if let dataset = BuiltinDataset.named(text) {
      guard labels == nil else {
        throw DataSourceError(source: text, message: "a built-in data set takes no labels file")
      }
      self = .builtin(dataset)
      return
    }
    let url = Self.resolve(text, against: base)
    let kind = FileAccess.kind(of: url.path)
    switch kind {
    case .missing:
      var message = "no such file or folder"
      if text.contains(":") && !text.contains("/") {
        let names = BuiltinDataset.all.map(\.description)
        message += " (built-in data sets: \(names.joined(separator: ", ")))"
      }
      throw DataSourceError(source: text, message: message)
    case .symbolicLinkLoop:
      throw DataSourceError(source: text, message: "too many levels of symbolic links (a loop?)")
    case .other(let other):
      throw DataSourceError(source: text, message: "\(other), not an image file or folder")
    case .file, .folder: break
    }
    if kind == .folder {
      guard labels == nil else {
        throw DataSourceError(source: text, message: "an image folder takes no labels file")
      }
      self = .folder(url)
    } else if url.pathExtension.lowercased() == "npz" {
      guard labels == nil else {
        throw DataSourceError(source: text, message: "an .npz file holds its labels as 'y'")
      }
      self = .npz(url)
    } else if let labels {
      self = .idx(images: url, labels: Self.resolve(labels, against: base))
    } else if let labelsURL = Self.idxLabelsFile(besides: url) {
      self = .idx(images: url, labels: labelsURL)
    } else {
      throw DataSourceError(
        source: text,
        message: "not a folder or an .npz file, and no IDX labels file was found beside it "
          + "(expected a name like train-images-idx3-ubyte[.gz] with "
          + "train-labels-idx1-ubyte[.gz])", needsLabelsFile: true)
    }
  }

  /// Reads the whole set.
  /// - Throws: `DataSourceError` or `FormatError` for missing or malformed files.
  public func load() throws -> ImageBatch {
    switch self {
    case .builtin(let dataset):
      return try dataset.load()
    case .npz(let url):
      return try ImageBatch(npz: NPZArchive(contentsOf: url), file: url.path)
    case .folder(let url):
      return try ImageFolder(root: url).load()
    case .idx(let images, let labels):
      return try ImageBatch(idxImages: images, labels: labels)
    }
  }

  /// The class names, when the source names its classes without reading its images: a
  /// built-in set's, or an image folder's subfolders; nil for files of numbered classes.
  /// - Throws: `FileAccessError` or `DataSourceError` when a folder cannot be listed.
  public func classNames() throws -> [String]? {
    switch self {
    case .builtin(let dataset): dataset.classNames
    case .folder(let url): try ImageFolder(root: url).classNames()
    case .npz, .idx: nil
    }
  }

  /// The source as a user would type it.
  public var description: String {
    switch self {
    case .builtin(let dataset): dataset.description
    case .npz(let url), .folder(let url): url.path
    case .idx(let images, let labels): "\(images.path) (labels \(labels.path))"
    }
  }

  private static func resolve(_ path: String, against base: URL?) -> URL {
    guard let base, !path.hasPrefix("/") else { return URL(fileURLWithPath: path) }
    return base.appendingPathComponent(path).standardizedFileURL
  }

  /// The labels file that standard IDX naming puts beside `images`, if it exists.
  static func idxLabelsFile(besides images: URL) -> URL? {
    let name = images.lastPathComponent
    guard let range = name.range(of: "images-idx3-ubyte") else { return nil }
    let folder = images.deletingLastPathComponent()
    let stem = name.replacingCharacters(in: range, with: "labels-idx1-ubyte")
    let base = stem.hasSuffix(".gz") ? String(stem.dropLast(3)) : stem
    for candidate in [stem, base, base + ".gz"] {
      let url = folder.appendingPathComponent(candidate)
      if FileManager.default.fileExists(atPath: url.path) { return url }
    }
    return nil
  }
}
