import BulwarkCore
import Foundation

/// A folder of images with one subfolder per class, as Keras, torchvision's `ImageFolder` and
/// many data sets lay them out: `root/<class>/<image>.png`.
///
/// Classes are the subfolders in sorted name order (the first is class 0); images are PNG or
/// JPEG files, read in sorted name order within each class. Hidden files (names starting with a
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
    let classNames = try visibleEntries(of: root).filter { isDirectory($0) }
      .map(\.lastPathComponent)
    guard !classNames.isEmpty else {
      throw DataSourceError(
        source: root.path,
        message: "no class subfolders: an image folder holds one subfolder of images per class")
    }
    var found: [(url: URL, label: Int)] = []
    for (label, name) in classNames.enumerated() {
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
      shape: shape, pixels: results.pixels, labels: files.map(\.label), classNames: classNames)
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
    let manager = FileManager.default
    if manager.fileExists(atPath: root.path), !(try visibleEntries(of: root)).isEmpty {
      throw DataSourceError(
        source: root.path, message: "the output folder exists and is not empty; not overwriting it")
    }
    let classDigits = String(max(0, batch.classCount - 1)).count
    let imageDigits = String(max(0, batch.count - 1)).count
    let folders = batch.classNames.enumerated().map { label, name in
      let safe = name.map { $0 == "/" || $0 == "\\" || $0 == ":" ? "-" : $0 }
      return root.appendingPathComponent(padded(label, classDigits) + "-" + String(safe))
    }
    for folder in folders {
      try manager.createDirectory(at: folder, withIntermediateDirectories: true)
    }
    let shape = batch.shape
    for index in 0..<batch.count {
      let bytes = batch.image(at: index).map { UInt8(($0 * 255).rounded()) }
      let bitmap = Bitmap(
        width: shape.width, height: shape.height, channels: shape.channels, bytes: bytes)
      let png = try PNGCodec.encode(bitmap)
      let file = folders[batch.labels[index]].appendingPathComponent(
        padded(index, imageDigits) + ".png")
      try Data(png).write(to: file)
    }
  }

  /// Decodes one file into a grey or RGB bitmap (alpha dropped).
  static func decode(_ url: URL) throws(ImageDecodeFailure) -> Bitmap {
    let bytes: [UInt8]
    do {
      bytes = [UInt8](try Data(contentsOf: url))
    } catch {
      throw .unreadable("\(error.localizedDescription)")
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
    return try FileManager.default.contentsOfDirectory(
      at: folder, includingPropertiesForKeys: [.isDirectoryKey]
    )
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
