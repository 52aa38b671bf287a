import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

/// Files of the repository and scratch folders the end-to-end tests share.
enum TestFiles {
  /// The repository's root folder.
  static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// The committed demo classifier.
  static let demoModel = repository.appendingPathComponent(
    "pipelines/models/lenet5-fashion.safetensors")
}

/// Runs the built `bulwark` executable (or `bulwark-example`), as a user or a script would.
struct BulwarkProcess {
  static let executable = built("bulwark")

  /// A built executable of the package, found beside the test bundle.
  static func built(_ name: String) -> URL? {
    let candidates = [
      Bundle.main.executableURL?.deletingLastPathComponent(),
      URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
      Bundle.main.bundleURL.deletingLastPathComponent(),
    ]
    return candidates.compactMap { $0?.appendingPathComponent(name) }
      .first { FileManager.default.isExecutableFile(atPath: $0.path) }
  }

  struct Result {
    var status: Int32
    var output: String
    var error: String
  }

  static func run(_ arguments: [String], program: String = "bulwark") throws -> Result {
    let process = Process()
    process.executableURL = try #require(
      program == "bulwark" ? executable : built(program), "the \(program) executable was not built")
    process.arguments = arguments
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    try process.run()
    let outData = output.fileHandleForReading.readDataToEndOfFile()
    let errData = error.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Result(
      status: process.terminationStatus, output: String(decoding: outData, as: UTF8.self),
      error: String(decoding: errData, as: UTF8.self))
  }
}

@Suite(.enabled(if: BuiltinDataset.fashionMNISTTest.isInstalled, "needs dataset-fashion-mnist"))
struct EndToEndTests {
  @Test func convertWritesXAsTheIDXBytesOver255() throws {
    let scratch = try ScratchFolder("bulwark-e2e")
    let folder = scratch.url
    let out = folder.appendingPathComponent("x.npz")
    let result = try BulwarkProcess.run(
      ["data", "convert", "fashion-mnist:test", "--limit", "100", "--out", out.path])
    #expect(result.status == 0, "\(result.error)")
    #expect(result.output == "Wrote 100 images of 28x28x1 to \(out.path)\n")

    let archive = try NPZArchive(contentsOf: out)
    let idx = try IDXFile.read(
      from: BuiltinDataset.fashionMNISTTest.directory.appendingPathComponent(
        "t10k-images-idx3-ubyte.gz"))
    guard case .uint8(let bytes) = idx.storage, case .float32(let x) = archive["x"]?.storage,
      case .int64(let y) = archive["y"]?.storage
    else {
      Issue.record("unexpected array types")
      return
    }
    #expect(archive["x"]?.shape == [100, 28, 28, 1])
    #expect(archive["y"]?.shape == [100])
    #expect(x == bytes.prefix(100 * 784).map { Float($0) / 255 })
    #expect(y.count == 100)
  }

  @Test func infoReportsCountsAsJSON() throws {
    let result = try BulwarkProcess.run(["data", "info", "fashion-mnist:test", "--json"])
    #expect(result.status == 0)
    let json = try #require(
      try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
    #expect(json["count"] as? Int == 10_000)
    #expect(json["classCount"] as? Int == 10)
    let classes = try #require(json["classes"] as? [[String: Any]])
    #expect(classes.map { $0["count"] as? Int } == Array(repeating: 1_000, count: 10))
    #expect(result.error.isEmpty)
  }

  @Test func aUsageErrorExitsTwoAndAFailureOne() throws {
    #expect(try BulwarkProcess.run(["data", "info"]).status == 2)
    #expect(try BulwarkProcess.run(["data", "info", "/nonexistent"]).status == 1)
    #expect(try BulwarkProcess.run(["--help"]).status == 0)
  }
}
