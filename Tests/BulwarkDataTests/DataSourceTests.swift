import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkData

@Suite struct DataSourceTests {
  @Test func resolvesBuiltinNames() throws {
    #expect(try DataSource("fashion-mnist:test") == .builtin(.fashionMNISTTest))
    #expect(try DataSource("fashion-mnist:train") == .builtin(.fashionMNISTTrain))
  }

  @Test func missingPathsAndUnknownNamesSayWhat() throws {
    let error = try #require(throws: DataSourceError.self) {
      try DataSource("fashion-mnist:validation")
    }
    #expect(error.message.contains("fashion-mnist:test"))
    #expect(throws: DataSourceError.self) { try DataSource("/nonexistent/x.npz") }
  }

  @Test func findsTheIDXLabelsFileByStandardNaming() throws {
    let folder = try ScratchFolder("bulwark-data")
    let images = folder.url.appendingPathComponent("t10k-images-idx3-ubyte.gz")
    let labels = folder.url.appendingPathComponent("t10k-labels-idx1-ubyte.gz")
    try Data([0]).write(to: images)
    #expect(throws: DataSourceError.self) { try DataSource(images.path) }
    try Data([0]).write(to: labels)
    #expect(try DataSource(images.path) == .idx(images: images, labels: labels))
  }

  @Test func resolvesRelativePathsAgainstABase() throws {
    let folder = try ScratchFolder("bulwark-data")
    let classes = folder.url.appendingPathComponent("set/a")
    try FileManager.default.createDirectory(at: classes, withIntermediateDirectories: true)
    let source = try DataSource("set", relativeTo: folder.url)
    #expect(source == .folder(folder.url.appendingPathComponent("set").standardizedFileURL))
  }

  @Test(.enabled(if: BuiltinDataset.fashionMNISTTest.isInstalled, "needs dataset-fashion-mnist"))
  func fashionMNISTTestHasTenThousandBalancedImages() throws {
    let batch = try DataSource("fashion-mnist:test").load()
    #expect(batch.count == 10_000)
    #expect(batch.shape == ImageShape(height: 28, width: 28, channels: 1))
    #expect(batch.classCounts == Array(repeating: 1_000, count: 10))
    #expect(batch.classNames.first == "T-shirt/top")
    #expect(batch.pixels.min() == 0 && batch.pixels.max() == 1)
  }

  @Test func aMissingBuiltinPackageNamesThePackage() throws {
    var dataset = BuiltinDataset.fashionMNISTTest
    dataset.directory = URL(fileURLWithPath: "/nonexistent/fashion-mnist")
    let error = try #require(throws: DataSourceError.self) { try dataset.load() }
    #expect(error.message.contains("apt-get install dataset-fashion-mnist"))
  }
}
