import BulwarkBoosting
import BulwarkData
import BulwarkFuzzing
import BulwarkModel
import BulwarkPipeline
import Foundation
import Testing

/// Replays the fuzzer's inputs through the same entry point `bulwark-fuzz` runs: every seed must
/// be read, and every input a campaign found a bug with must now finish (a crash stops the test
/// run) with at most one of Bulwark's own errors.
@Suite struct FuzzInputTests {
  /// The files of `folder/<target>/` among the test resources, sorted by name; none when the
  /// folder does not exist.
  static func inputs(_ folder: String, of target: FuzzTarget) throws -> [URL] {
    let root = try #require(Bundle.module.url(forResource: folder, withExtension: nil))
    let files =
      (try? FileManager.default.contentsOfDirectory(
        at: root.appendingPathComponent(target.rawValue), includingPropertiesForKeys: nil)) ?? []
    return files.sorted { $0.lastPathComponent < $1.lastPathComponent }
  }

  /// Whether an error is one of the errors Bulwark's readers throw, which name the file and
  /// the field, rather than a library's or the system's.
  static func isBulwarkError(_ error: any Error) -> Bool {
    switch error {
    case is FormatError, is PNGError, is JPEGError, is ModelError, is BoostingError,
      is PipelineError, is PipelineErrors:
      true
    default: false
    }
  }

  @Test(arguments: FuzzTarget.allCases)
  func readsEverySeed(_ target: FuzzTarget) throws {
    let seeds = try Self.inputs("Corpus", of: target)
    #expect(!seeds.isEmpty, "no seed for \(target.rawValue)")
    for seed in seeds {
      let bytes = [UInt8](try Data(contentsOf: seed))
      #expect(throws: Never.self, "\(seed.lastPathComponent)") { try target.run(on: bytes) }
    }
  }

  @Test(arguments: FuzzTarget.allCases)
  func finishesEveryRegressionInputWithABulwarkError(_ target: FuzzTarget) throws {
    for input in try Self.inputs("Regressions", of: target) {
      let bytes = [UInt8](try Data(contentsOf: input))
      do {
        try target.run(on: bytes)
      } catch {
        #expect(
          Self.isBulwarkError(error),
          "\(input.lastPathComponent): \(type(of: error)): \(error)")
      }
    }
  }
}
