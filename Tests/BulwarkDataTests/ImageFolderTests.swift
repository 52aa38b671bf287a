import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkData

@Suite struct ImageFolderTests {
  private func batch(channels: Int) -> ImageBatch {
    let shape = ImageShape(height: 3, width: 2, channels: channels)
    let count = 5
    let pixels = (0..<(count * shape.valueCount)).map { Float(($0 * 37) % 256) / 255 }
    return ImageBatch(
      shape: shape, pixels: pixels, labels: [1, 0, 2, 0, 1], classNames: ["cat", "dog/wolf", "eel"])
  }

  @Test(arguments: [1, 3])
  func roundTripsThroughPNGFiles(channels: Int) throws {
    let folder = try ScratchFolder("bulwark-image-folder")
    let root = folder.url.appendingPathComponent("out")
    let original = batch(channels: channels)
    try ImageFolder(root: root).write(original)
    let loaded = try ImageFolder(root: root).load()
    // Classes come back in order (folder names are prefixed with the class index), images class
    // by class.
    #expect(loaded.classNames == ["0-cat", "1-dog-wolf", "2-eel"])
    let order = [1, 3, 0, 4, 2]
    #expect(loaded == original.selecting(order).renamed(loaded.classNames))
  }

  @Test func refusesToOverwriteAFolderThatHasFiles() throws {
    let folder = try ScratchFolder("bulwark-image-folder")
    try Data([1]).write(to: folder.url.appendingPathComponent("keep.txt"))
    #expect(throws: DataSourceError.self) {
      try ImageFolder(root: folder.url).write(batch(channels: 1))
    }
  }

  @Test func mixedSizesNameTheFirstOffendingFile() throws {
    let folder = try ScratchFolder("bulwark-image-folder")
    let a = folder.url.appendingPathComponent("a")
    let b = folder.url.appendingPathComponent("b")
    try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: b, withIntermediateDirectories: true)
    let small = Bitmap(width: 2, height: 2, channels: 1, bytes: [0, 1, 2, 3])
    let large = Bitmap(width: 3, height: 2, channels: 1, bytes: [0, 1, 2, 3, 4, 5])
    try Data(PNGCodec.encode(small)).write(to: a.appendingPathComponent("1.png"))
    try Data(PNGCodec.encode(small)).write(to: b.appendingPathComponent("1.png"))
    try Data(PNGCodec.encode(large)).write(to: b.appendingPathComponent("2.png"))
    try Data(PNGCodec.encode(large)).write(to: b.appendingPathComponent("3.png"))
    let error = try #require(throws: FormatError.self) { try ImageFolder(root: folder.url).load() }
    #expect(error.file.hasSuffix("b/2.png"))
    #expect(error.found == "2x3x1")
  }

  @Test func aCorruptImageOrAStrayFileIsAnErrorNamingIt() throws {
    let folder = try ScratchFolder("bulwark-image-folder")
    let a = folder.url.appendingPathComponent("a")
    try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
    try Data([0x89, 0x50, 0x4E, 0x47, 1, 2, 3]).write(to: a.appendingPathComponent("bad.png"))
    let corrupt = try #require(throws: FormatError.self) {
      try ImageFolder(root: folder.url).load()
    }
    #expect(corrupt.file.hasSuffix("a/bad.png"))
    try FileManager.default.removeItem(at: a.appendingPathComponent("bad.png"))
    try Data([1]).write(to: a.appendingPathComponent("notes.txt"))
    let stray = try #require(throws: FormatError.self) { try ImageFolder(root: folder.url).load() }
    #expect(stray.file.hasSuffix("a/notes.txt"))
  }

  @Test func readsJPEGFilesAndDropsAlpha() throws {
    let folder = try ScratchFolder("bulwark-image-folder")
    let a = folder.url.appendingPathComponent("only")
    try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
    let grey = Bitmap(width: 8, height: 8, channels: 1, bytes: Array(repeating: 255, count: 64))
    try Data(JPEGCodec.encode(grey, quality: 50)).write(to: a.appendingPathComponent("x.JPG"))
    let rgba = Bitmap(width: 8, height: 8, channels: 2, bytes: Array(repeating: 255, count: 128))
    try Data(PNGCodec.encode(rgba)).write(to: a.appendingPathComponent("y.png"))
    let loaded = try ImageFolder(root: folder.url).load()
    #expect(loaded.count == 2)
    #expect(loaded.shape == ImageShape(height: 8, width: 8, channels: 1))
    #expect(loaded.pixels.allSatisfy { $0 == 1 })
  }
}

extension ImageBatch {
  fileprivate func renamed(_ names: [String]) -> ImageBatch {
    ImageBatch(shape: shape, pixels: pixels, labels: labels, classNames: names)
  }
}
