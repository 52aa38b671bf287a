import BulwarkCore
import Foundation

/// A folder of images with one subfolder per class, as Keras, torchvision's `ImageFolder` and
/// many data sets lay them out: `root/<class>/<image>.png`.
///
/// When every subfolder is numbered (`7`, `3-Dress`), the numbers are the classes, so a missing
/// class leaves a gap; otherwise the classes are the subfolders in sorted name order (the first
/// is class 0). Images are PNG or JPEG files, read in sorted name order within each class. Hidden files (names starting with a
/// dot) are skipped. Grey images give one channel and colour images three; an alpha channel is
/// dropped. Every image must have the same height, width and channel count.
public struct ImageFolder: Sendable {
  /// The folder holding one subfolder per class.
  public var root: URL

  /// The file extensions read, lower-cased.
  public static let imageExtensions: Set<String> = ["png", "jpg", "jpeg"]

  /// Creates a reader or writer for the folder at `root`.
  public init(root: URL) {
    self.root = root
  }

  /// Reads every image, class by class.
  /// - Throws: `DataSourceError` when the folder has no class subfolders or no images;
  ///   `FormatError` naming the file for an unreadable image, a file that is not an image, or
  ///   the first image whose size or channel count differs from the first image's.
  public func load() throws -> ImageBatch {
    let classNames = try classFolders()
    let (labels, names) = try Self.classes(ofFolders: classNames, root: root)
    var found: [(url: URL, label: Int)] = []
    for (name, label) in zip(classNames, labels) {
      let folder = root.appendingPathComponent(name, isDirectory: true)
      for file in try visibleEntries(of: folder) {
        guard Self.imageExtensions.contains(file.pathExtension.lowercased()),
          !isDirectory(file)
        else {
          throw FormatError(
            file: file.path, location: .whole, expected: "a .png, .jpg or .jpeg image file",
            found: isDirectory(file) ? "a folder" : "a file with another extension")
        }
        found.append((file, label))
      }
    }
    let files = found
    guard let first = files.first else {
      throw DataSourceError(source: root.path, message: "the class subfolders hold no images")
    }
    let firstBitmap: Bitmap
    do {
      firstBitmap = try Self.decode(first.url)
    } catch {
      throw FormatError(
        file: first.url.path, location: .whole, expected: "a readable PNG or JPEG",
        found: error.reason)
    }
    let shape = ImageShape(
      height: firstBitmap.height, width: firstBitmap.width, channels: firstBitmap.channels)
    let size = shape.valueCount
    let results = DecodeResults(count: files.count, size: size)
    Parallel.forEachChunk(
      count: files.count, chunkSize: 64, threads: Parallel.defaultThreadCount
    ) { indices in
      for index in indices {
        results.store(index: index, shape: shape) { () throws(ImageDecodeFailure) in
          try Self.decode(files[index].url)
        }
      }
    }
    // Report the first failure in file order, whichever thread met it.
    if let (index, failure) = results.firstFailure() {
      throw failure.formatError(
        file: files[index].url.path, reference: first.url.path, shape: shape)
    }
    return ImageBatch(
      shape: shape, pixels: results.pixels, labels: files.map(\.label), classNames: names)
  }

  /// The class names, read from the subfolders' names without reading an image.
  /// - Throws: `DataSourceError` when the folder has no class subfolders, or its numbered
  ///   folders clash; `FileAccessError` when it cannot be listed.
  public func classNames() throws -> [String] {
    try Self.classes(ofFolders: try classFolders(), root: root).names
  }

  /// The names of the class subfolders, sorted.
  private func classFolders() throws -> [String] {
    let folders = try visibleEntries(of: root).filter { isDirectory($0) }.map(\.lastPathComponent)
    guard !folders.isEmpty else {
      throw DataSourceError(
        source: root.path,
        message: "no class subfolders: an image folder holds one subfolder of images per class")
    }
    return folders
  }

  /// The label of each class folder and the class names: when every folder is numbered (`7`,
  /// `3-Dress`), the numbers are the labels, so a missing folder leaves a gap instead of
  /// shifting the classes after it; otherwise the sorted order, as torchvision's ImageFolder.
  static func classes(
    ofFolders folders: [String], root: URL
  ) throws(DataSourceError) -> (labels: [Int], names: [String]) {
    let numbers = folders.map { ClassName($0).index }
    guard numbers.allSatisfy({ $0 != nil }) else { return (Array(folders.indices), folders) }
    let labels = numbers.map { $0 ?? 0 }
    guard let largest = labels.max(), largest < ImageBatch.maximumClasses else {
      throw DataSourceError(
        source: root.path,
        message: "class folders are numbered up to \(labels.max() ?? 0); at most "
          + "\(ImageBatch.maximumClasses) classes are read")
    }
    var names = (0...largest).map(String.init)
    var seen: [Int: String] = [:]
    for (folder, label) in zip(folders, labels) {
      if let other = seen[label] {
        throw DataSourceError(
          source: root.path,
          message: "class folders '\(other)' and '\(folder)' are both numbered \(label)")
      }
      seen[label] = folder
      names[label] = folder
    }
    return (labels, names)
  }

  /// Writes `batch` as PNG files: one subfolder per class named `<index>-<class name>` (the
  /// index zero-padded so that sorted order is class order) holding `<image index>.png` files.
  /// - Parameter batch: Grey (1 channel) or RGB (3 channels) images.
  /// - Throws: `DataSourceError` when the folder exists and is not empty or the batch has
  ///   another channel count; file-system errors from Foundation.
  public func write(_ batch: ImageBatch) throws {
    guard batch.shape.channels == 1 || batch.shape.channels == 3 else {
      throw DataSourceError(
        source: root.path,
        message: "an image folder holds grey or RGB images; the batch has "
          + "\(batch.shape.channels) channels")
    }
    if FileAccess.kind(of: root.path) != .missing, !(try visibleEntries(of: root)).isEmpty {
      throw DataSourceError(
        source: root.path, message: "the output folder exists and is not empty; not overwriting it")
    }
    let classDigits = String(max(0, batch.classCount - 1)).count
    let imageDigits = String(max(0, batch.count - 1)).count
    let folders = batch.classNames.enumerated().map { label, name in
      // A name read from a numbered folder keeps its number, not a second one.
      let parsed = ClassName(name)
      let bare = parsed.index == label ? parsed.name : Substring(name)
      let suffix = bare.map { "-" + ClassName.folderName($0) } ?? ""
      return root.appendingPathComponent(padded(label, classDigits) + suffix)
    }
    for folder in folders {
      try FileAccess.createFolder(folder)
    }
    let shape = batch.shape
    for index in 0..<batch.count {
      let bytes = batch.image(at: index).map { UInt8(($0 * 255).rounded()) }
      let bitmap = Bitmap(
        width: shape.width, height: shape.height, channels: shape.channels, bytes: bytes)
      let png = try PNGCodec.encode(bitmap)
      let file = folders[batch.labels[index]].appendingPathComponent(
        padded(index, imageDigits) + ".png")
      try FileAccess.write(Data(png), to: file)
    }
  }

  /// Decodes one file into a grey or RGB bitmap (alpha dropped).
  static func decode(_ url: URL) throws(ImageDecodeFailure) -> Bitmap {
    let bytes: [UInt8]
    do {
      bytes = [UInt8](try FileAccess.contents(of: url))
    } catch {
      throw .unreadable(error.reason)
    }
    let bitmap: Bitmap
    do {
      bitmap =
        ["jpg", "jpeg"].contains(url.pathExtension.lowercased())
        ? try JPEGCodec.decode(bytes) : try PNGCodec.decode(bytes)
    } catch {
      throw .unreadable("\(error)")
    }
    return bitmap.droppingAlpha()
  }

  private func visibleEntries(of folder: URL) throws -> [URL] {
    guard isDirectory(folder) else {
      throw DataSourceError(source: folder.path, message: "no such folder")
    }
    let entries: [URL]
    do {
      entries = try FileManager.default.contentsOfDirectory(
        at: folder, includingPropertiesForKeys: [.isDirectoryKey])
    } catch {
      throw FileAccessError(path: folder.path, operation: .list, underlying: error)
    }
    return
      entries
      .filter { !$0.lastPathComponent.hasPrefix(".") }
      .sorted { $0.lastPathComponent.utf8.lexicographicallyPrecedes($1.lastPathComponent.utf8) }
  }

  private func isDirectory(_ url: URL) -> Bool {
    var flag: ObjCBool = false
    return FileManager.default.fileExists(atPath: url.path, isDirectory: &flag) && flag.boolValue
  }

  private func padded(_ value: Int, _ digits: Int) -> String {
    let text = String(value)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }
}

/// Why one image of a folder could not be used.
enum ImageDecodeFailure: Error {
  /// The file could not be read or decoded.
  case unreadable(String)
  /// The image decoded, but its shape differs from the first image's.
  case mismatch(ImageShape)

  /// What went wrong, for a message.
  var reason: String {
    switch self {
    case .unreadable(let reason): reason
    case .mismatch(let shape): "\(shape)"
    }
  }

  /// The error reported for `file`, whose folder's first image `reference` has `shape`.
  func formatError(file: String, reference: String, shape: ImageShape) -> FormatError {
    switch self {
    case .unreadable:
      FormatError(file: file, location: .whole, expected: "a readable PNG or JPEG", found: reason)
    case .mismatch:
      FormatError(
        file: file, location: .whole,
        expected: "a \(shape) image like \(reference) (all images must share one size)",
        found: reason)
    }
  }
}

/// Workers write disjoint ranges of one buffer, so no two threads touch the same value.
private final class DecodeResults: @unchecked Sendable {
  private let buffer: UnsafeMutableBufferPointer<Float>
  private var failures: [Int: ImageDecodeFailure] = [:]
  private let lock = NSLock()
  private let size: Int

  init(count: Int, size: Int) {
    self.size = size
    buffer = .allocate(capacity: count * size)
    buffer.initialize(repeating: 0)
  }

  deinit { buffer.deallocate() }

  var pixels: [Float] { Array(buffer) }

  func store(index: Int, shape: ImageShape, decode: () throws(ImageDecodeFailure) -> Bitmap) {
    do {
      let bitmap = try decode()
      let found = ImageShape(height: bitmap.height, width: bitmap.width, channels: bitmap.channels)
      guard found == shape else { throw ImageDecodeFailure.mismatch(found) }
      let values = ImageBatch.unitFloats(fromBytes: bitmap.bytes)
      for offset in 0..<size { buffer[index * size + offset] = values[offset] }
    } catch {
      lock.withLock { failures[index] = error as? ImageDecodeFailure ?? .unreadable("\(error)") }
    }
  }

  func firstFailure() -> (Int, ImageDecodeFailure)? {
    lock.withLock { failures }.min { $0.key < $1.key }.map { ($0.key, $0.value) }
  }
}

extension Bitmap {
  /// The bitmap without its alpha channel: grey+alpha becomes grey, RGBA becomes RGB.
  func droppingAlpha() -> Bitmap {
    guard channels == 2 || channels == 4 else { return self }
    let kept = channels - 1
    var values = [UInt8]()
    values.reserveCapacity(width * height * kept)
    for pixel in 0..<(width * height) {
      values.append(contentsOf: bytes[(pixel * channels)..<(pixel * channels + kept)])
    }
    return Bitmap(width: width, height: height, channels: kept, bytes: values)
  }
}
