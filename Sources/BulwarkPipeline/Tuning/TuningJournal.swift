import BulwarkCore
import Foundation
import Synchronization

/// The tuner's journal: JSON lines in the run folder, the settings first, then one line per
/// finished configuration, appended and flushed as each finishes, so that an interrupted run
/// resumes losing at most the configurations in flight.
final class TuningJournal: Sendable {
  /// What a journal belongs to; resuming refuses a journal of other settings, and merging
  /// refuses shards of different ones.
  struct Settings: Codable, Equatable {
    /// SHA-256 of the pipeline file's bytes.
    var fileHash: String
    /// The sample's seed.
    var seed: UInt64
    /// Images sampled from each set.
    var sample: Int
    /// The share kept for fitting.
    var fitFraction: Double
    /// The Bulwark version that wrote the journal (nil in journals written before it was
    /// recorded; such a journal matches any version).
    var version: String? = BulwarkVersion.current
    /// The shard the journal belongs to (`2/4`), nil for an unsharded run or a merge.
    var shard: String? = nil

    /// The first setting in which a journal's settings differ from these, in words, or nil
    /// when they agree.
    /// - Parameter found: The settings a journal holds.
    /// - Returns: `seed 3 (this run: 0)`, or nil.
    func difference(from found: Settings) -> String? {
      let fields: [(String, String, String)] = [
        ("pipeline file (SHA-256)", found.fileHash, fileHash),
        ("seed", "\(found.seed)", "\(seed)"),
        ("sample", "\(found.sample)", "\(sample)"),
        ("tune.fitFraction", "\(found.fitFraction)", "\(fitFraction)"),
        ("Bulwark version", found.version ?? version ?? "", version ?? ""),
        ("shard", found.shard ?? "none", shard ?? "none"),
      ]
      return fields.first { $0.1 != $0.2 }.map { "\($0.0) \($0.1) (this run: \($0.2))" }
    }
  }

  /// The classifier work a run did, recorded when a shard finishes so that a merge can report
  /// the whole job's.
  struct Work: Codable, Equatable {
    /// Classifier passes over the sample.
    var classifierPasses: Int
    /// Images classified in them.
    var imagesClassified: Int
  }

  private struct Line: Codable {
    var settings: Settings?
    var result: TuningResult?
    var work: Work?
  }

  /// What a journal holds.
  struct Contents {
    /// The settings it was written with (nil for an empty file).
    var settings: Settings?
    /// Its finished configurations, by key (a later line for a key replaces an earlier one).
    var results: [String: TuningResult] = [:]
    /// The classifier work its runs recorded.
    var work = Work(classifierPasses: 0, imagesClassified: 0)
    /// Its whole lines, to keep when resuming.
    fileprivate var lines: [Data] = []
  }

  /// The journal file.
  let url: URL
  private let handle: Mutex<FileHandle>

  /// Reads a journal. A line cut short by a kill is dropped; every whole line before it is
  /// kept.
  /// - Parameter url: The journal file.
  /// - Returns: Its settings, results and recorded work.
  /// - Throws: File errors.
  static func read(at url: URL) throws -> Contents {
    var contents = Contents()
    let decoder = JSONDecoder()
    for line in try FileAccess.contents(of: url).split(separator: UInt8(ascii: "\n")) {
      guard let entry = try? decoder.decode(Line.self, from: line) else { continue }
      if let found = entry.settings, contents.settings == nil { contents.settings = found }
      if let result = entry.result { contents.results[result.key] = result }
      if let work = entry.work {
        contents.work.classifierPasses += work.classifierPasses
        contents.work.imagesClassified += work.imagesClassified
      }
      contents.lines.append(Data(line))
    }
    return contents
  }

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
    var contents = Contents()
    // A journal that exists but cannot be read is an error, not a reason to start afresh.
    if resume, FileAccess.kind(of: url.path) != .missing {
      contents = try read(at: url)
      if let found = contents.settings, let difference = settings.difference(from: found) {
        throw TuningError(
          message: "\(url.path) belongs to another run: \(difference)", remedy: .startAfresh)
      }
    }
    var lines = contents.lines
    if lines.isEmpty { lines = [try encoded(Line(settings: settings))] }
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
    return (TuningJournal(url: url, handle: handle), contents.results)
  }

  /// A line as the journal stores it.
  private static func encoded(_ line: Line) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(line)
  }

  private init(url: URL, handle: FileHandle) {
    self.url = url
    self.handle = Mutex(handle)
  }

  /// Appends one finished configuration and flushes it to disk.
  /// - Parameter result: The result.
  /// - Throws: Encoding and file errors.
  func append(_ result: TuningResult) throws {
    try append(Line(result: result))
  }

  /// Records the classifier work of a finished run and flushes it to disk.
  /// - Parameter work: The work.
  /// - Throws: Encoding and file errors.
  func record(_ work: Work) throws {
    try append(Line(work: work))
  }

  private func append(_ line: Line) throws {
    let data = try Self.encoded(line) + Data("\n".utf8)
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
