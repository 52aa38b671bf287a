import BulwarkCore
import Foundation
import Synchronization

/// The tuner's journal: JSON lines in the run folder, the settings first, then one line per
/// finished configuration, appended and flushed as each finishes, so that an interrupted run
/// resumes losing at most the configurations in flight.
final class TuningJournal: Sendable {
  /// What a journal belongs to; resuming refuses a journal of other settings.
  struct Settings: Codable, Equatable {
    /// SHA-256 of the pipeline file's bytes.
    var fileHash: String
    /// The sample's seed.
    var seed: UInt64
    /// Images sampled from each set.
    var sample: Int
    /// The share kept for fitting.
    var fitFraction: Double
  }

  private struct Line: Codable {
    var settings: Settings?
    var result: TuningResult?
  }

  /// The journal file.
  let url: URL
  private let handle: Mutex<FileHandle>

  /// Opens a journal: a new one (replacing any), or an existing one to resume.
  /// - Parameters:
  ///   - url: The journal file.
  ///   - settings: The run's settings.
  ///   - resume: Whether to continue an existing journal.
  /// - Returns: The journal and the results it already holds, by key.
  /// - Throws: `TuningError` for a journal of other settings; file errors.
  static func open(at url: URL, settings: Settings, resume: Bool) throws -> (
    TuningJournal, [String: TuningResult]
  ) {
    var results: [String: TuningResult] = [:]
    var lines: [Data] = []
    let decoder = JSONDecoder()
    // A journal that exists but cannot be read is an error, not a reason to start afresh.
    if resume, FileAccess.kind(of: url.path) != .missing {
      let data = try FileAccess.contents(of: url)
      // A line cut short by a kill is dropped; every whole line before it is kept.
      for line in data.split(separator: UInt8(ascii: "\n")) {
        guard let entry = try? decoder.decode(Line.self, from: line) else { continue }
        if let found = entry.settings {
          guard found == settings else {
            throw TuningError(
              message: "\(url.path) belongs to another run (file hash, seed, sample or "
                + "fitFraction differ)", remedy: .startAfresh)
          }
        }
        if let result = entry.result { results[result.key] = result }
        lines.append(Data(line))
      }
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    if lines.isEmpty { lines = [try encoder.encode(Line(settings: settings, result: nil))] }
    try FileAccess.createFolder(url.deletingLastPathComponent())
    let text = lines.map { $0 + Data("\n".utf8) }.reduce(Data(), +)
    try FileAccess.write(text, to: url)
    let handle: FileHandle
    do {
      handle = try FileHandle(forWritingTo: url)
      try handle.seekToEnd()
    } catch {
      throw FileAccessError(path: url.path, operation: .write, underlying: error)
    }
    return (TuningJournal(url: url, handle: handle), results)
  }

  private init(url: URL, handle: FileHandle) {
    self.url = url
    self.handle = Mutex(handle)
  }

  /// Appends one finished configuration and flushes it to disk.
  /// - Parameter result: The result.
  /// - Throws: Encoding and file errors.
  func append(_ result: TuningResult) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(Line(settings: nil, result: result)) + Data("\n".utf8)
    do {
      try handle.withLock { handle in
        try handle.write(contentsOf: data)
        try handle.synchronize()
      }
    } catch {
      throw FileAccessError(path: url.path, operation: .write, underlying: error)
    }
  }

  deinit {
    handle.withLock { try? $0.close() }
  }
}
