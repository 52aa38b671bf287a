import BulwarkCore
import BulwarkData
import Foundation
import Synchronization

/// A whole tuning run from a pipeline file, as `bulwark tune` performs it: the file parsed
/// once into its pipeline and its search space, external programs refused unless allowed, the
/// data loaded (adversarial sets generated or read from the cache), the search run with its
/// journal, and the results written into the run folder, each phase timed. A space of several
/// classifiers (`tune.classifier`) runs all of this once per classifier, in a subfolder each,
/// and ranks the results together.
public struct TuningSession: Sendable {
  /// How the session runs.
  public struct Options: Sendable {
    /// Images sampled from each set (nil: the file's `tune.sample`).
    public var sample: Int?
    /// The sample's seed.
    public var seed: UInt64
    /// Whether to search a finer grid around the best and re-score the top 3 in full.
    public var refine: Bool
    /// Whether to continue the journal in the run folder.
    public var resume: Bool
    /// Score at most this many new configurations, then stop (to test interruption).
    public var stopAfter: Int?
    /// Preprocessings scored at once (nil: every active core).
    public var threads: Int?
    /// The run folder (nil: `runs/<name>` beside the pipeline file).
    public var folder: URL?
    /// Whether stages that run external programs may run.
    public var allowsExternalPrograms: Bool
    /// Whether to merge the journals of a sharded run in the folder (see `runShard`) instead of
    /// scoring the grid.
    public var merging: Bool

    /// Creates options; see the properties.
    public init(
      sample: Int? = nil, seed: UInt64 = 0, refine: Bool = false, resume: Bool = false,
      stopAfter: Int? = nil, threads: Int? = nil, folder: URL? = nil,
      allowsExternalPrograms: Bool = false, merging: Bool = false
    ) {
      self.sample = sample
      self.seed = seed
      self.refine = refine
      self.resume = resume
      self.stopAfter = stopAfter
      self.threads = threads
      self.folder = folder
      self.allowsExternalPrograms = allowsExternalPrograms
      self.merging = merging
    }
  }

  /// What a session reports while it works.
  public enum Progress: Sendable {
    /// An adversarial set being generated: its name, images done and total.
    case attack(set: String, done: Int, total: Int)
    /// The search: its phase, configurations done and total, and the time since the phase
    /// began.
    case tuning(TuningPhase, done: Int, total: Int, elapsed: Duration)
    /// A resumed run found no journal to continue, so it starts afresh.
    case nothingToResume(journal: URL)
  }

  /// Seconds each part of a session took.
  public struct Timing: Sendable, Encodable {
    /// Loading the data (and generating adversarial sets).
    public var data: Double
    /// Scoring the grid (and the refinement) on the sample.
    public var tuning: Double
    /// Scoring the best on the full sets and writing the results.
    public var full: Double
  }

  /// What a session produced.
  public struct Result: Sendable {
    /// The ranking, the winner and its full score.
    public var outcome: TuningOutcome
    /// The report written into the run folder.
    public var report: TuningReport
    /// The run folder.
    public var folder: URL
    /// The files written, `best.json5` last.
    public var files: [URL]
    /// Seconds each part took.
    public var timing: Timing
  }

  /// The pipeline file.
  public var file: URL
  /// The pipeline the file describes (its top-level stages).
  public var description: PipelineDescription
  /// The file's search space.
  public var space: SearchSpace

  /// Reads a pipeline file once into its pipeline and its search space.
  /// - Parameters:
  ///   - url: The pipeline file.
  ///   - registry: The defenses its stages may name.
  /// - Throws: `PipelineErrors` listing every problem of the file.
  public init(contentsOf url: URL, registry: DefenseRegistry = .current) throws(PipelineErrors) {
    let text = try pipelineText(at: url)
    let root: JSONValue
    do {
      var parser = JSON5Parser(text, file: url.path)
      root = try parser.parse()
    } catch {
      throw PipelineErrors([error])
    }
    let folder = url.deletingLastPathComponent()
    file = url
    description = try PipelineDescription(
      root: root, file: url, folder: folder, registry: registry)
    space = try SearchSpace(root: root, file: url.path, folder: folder, registry: registry)
  }

  /// The run folder a session uses without `Options.folder`: `runs/<name>` beside the file.
  public var defaultFolder: URL {
    file.deletingLastPathComponent().appendingPathComponent("runs")
      .appendingPathComponent(file.deletingPathExtension().lastPathComponent)
  }

  /// Runs the session: the whole search, or with `Options.merging` the rest of it after a
  /// sharded run's grid.
  /// - Parameters:
  ///   - options: How to run.
  ///   - progress: Called as the session goes.
  /// - Returns: The outcome, the report, the files written and the timing.
  /// - Throws: `PipelineError` (remedy `allowExternalPrograms`) for external stages not
  ///   allowed; `TuningError`, data, stage and classifier errors.
  public func run(
    _ options: Options, progress: @escaping @Sendable (Progress) -> Void = { _ in }
  ) throws -> Result {
    let clock = ContinuousClock()
    let folder = options.folder ?? defaultFolder
    let parts = try forEachClassifier(options, shard: nil, progress: progress) {
      variant, runFolder, fileHash, adaptiveSets, progress in
      try tune(
        variant, folder: runFolder, fileHash: fileHash, adaptiveSets: adaptiveSets,
        options: options, progress: progress)
    }
    let models = parts.map(\.model)
    let outcome =
      space.classifiers.isEmpty
      ? parts[0].result.outcome
      : TuningOutcome.merging(
        zip(models, parts).map { ($0, $1.result.outcome) }, tuner: parts[0].result.tuner)
    var winning = description
    winning.model = outcome.winnerModel ?? description.model
    let report = TuningReport(outcome: outcome, space: space, description: winning)
    let reporting = clock.now
    let files = try report.write(to: folder)
    let timing = Timing(
      data: parts.reduce(0) { $0 + $1.result.timing.data },
      tuning: parts.reduce(0) { $0 + $1.result.timing.tuning },
      full: parts.reduce(0) { $0 + $1.result.timing.full } + (clock.now - reporting).inSeconds)
    return Result(outcome: outcome, report: report, folder: folder, files: files, timing: timing)
  }

  /// Runs one shard of the search: loads the data (a missing adversarial set is made shared
  /// among the shards, see `AdversarialCache`), scores the shard's share of the grid and
  /// journals it in `journal-I-of-N.jsonl`; with several classifiers, the shard's share of each
  /// one's grid. `run` with `Options.merging` then ranks the shards' results together.
  /// - Parameters:
  ///   - shard: The shard.
  ///   - options: How to run (`refine` and `merging` belong to the merge).
  ///   - progress: Called as the shard goes.
  /// - Returns: What the shard scored, per classifier.
  /// - Throws: As `run`.
  public func runShard(
    _ shard: Shard, options: Options,
    progress: @escaping @Sendable (Progress) -> Void = { _ in }
  ) throws -> [TuningShardOutcome] {
    try forEachClassifier(options, shard: shard, progress: progress) {
      variant, runFolder, fileHash, _, progress in
      let (tuner, data, _) = try load(variant, shard: shard, options: options, progress: progress)
      let clock = ContinuousClock()
      let began = clock.now
      return try tuner.runShard(
        shard, data: data, options: tunerOptions(options, folder: runFolder, fileHash: fileHash)
      ) { phase, done, total in
        progress(.tuning(phase, done: done, total: total, elapsed: clock.now - began))
      }
    }.map(\.result)
  }

  /// Checks what every run checks first, then runs `body` once per classifier of the space
  /// (the file's own when it has none), each in its run folder: the folder itself, or with
  /// several classifiers `classifiers/<n>-<name>` in it, each with its own data, sample and
  /// journal under the same attack definitions.
  private func forEachClassifier<Part>(
    _ options: Options, shard: Shard?, progress: @escaping @Sendable (Progress) -> Void,
    _ body: (
      _ description: PipelineDescription, _ folder: URL, _ fileHash: String,
      _ adaptiveSets: [AdaptiveAttack], _ progress: @escaping @Sendable (Progress) -> Void
    ) throws -> Part
  ) throws -> [(model: URL, result: Part)] {
    // Stages that run other programs are refused before anything runs, unless allowed.
    try description.requireExternalAllowed(options.allowsExternalPrograms)
    // The detectors stay as the file has them; the tuner fits fitted postprocessors itself.
    try description.requireFitted(detectorsOnly: true)
    try ExternalCommand.requireAllowed(
      space.externalCommands, allowed: options.allowsExternalPrograms, file: file.path)
    let adaptiveSets = AdaptiveAttack.sets(of: description)
    guard adaptiveSets.count < description.adversarialSets.count else {
      throw TuningError(
        message: "\(file.path): every adversarial set is made against the pipeline; the tuner "
          + "needs at least one set made once (against the classifier, or read from a file) to "
          + "rank the whole grid before it attacks the leaders")
    }
    let folder = options.folder ?? defaultFolder
    // Results written only at the end must not be lost to an unwritable folder.
    try FileAccess.checkFolderWritable(folder)
    var hash = SHA256()
    hash.update(try FileAccess.contents(of: file))
    let fileHash = hash.hexDigest()
    let models = space.classifiers.isEmpty ? [description.model] : space.classifiers
    return try models.enumerated().map { position, model in
      var variant = description
      variant.model = model
      let runFolder =
        space.classifiers.isEmpty
        ? folder
        : folder.appendingPathComponent("classifiers").appendingPathComponent(
          "\(position + 1)-\(model.deletingPathExtension().lastPathComponent)")
      let journal = runFolder.appendingPathComponent(Tuner.journalName(for: shard))
      if options.resume, FileAccess.kind(of: journal.path) == .missing {
        progress(.nothingToResume(journal: journal))
      }
      // Progress names the classifier whose set is being made when there are several.
      let prefix = space.classifiers.isEmpty ? "" : model.lastPathComponent + " "
      let result = try body(variant, runFolder, fileHash, adaptiveSets) { event in
        if case .attack(let set, let done, let total) = event {
          progress(.attack(set: prefix + set, done: done, total: total))
        } else {
          progress(event)
        }
      }
      return (model, result)
    }
  }

  /// A classifier's pipeline, its tuner and its data (the sets made once; made by shards
  /// together when `shard` is given), and the seconds loading took.
  private func load(
    _ description: PipelineDescription, shard: Shard?, options: Options,
    progress: @escaping @Sendable (Progress) -> Void
  ) throws -> (Tuner, PipelineDescription.Data, Double) {
    let clock = ContinuousClock()
    let started = clock.now
    let pipeline = try Pipeline(description)
    // The sets made against the pipeline are made against each configuration the tuner
    // re-ranks, not against the file's top-level stages.
    let data = try description.loadData(
      for: pipeline, includingAdaptiveSets: false, sharing: shard.map { .together($0) }
    ) { set, done, total in
      progress(.attack(set: set, done: done, total: total))
    }
    let tuner = Tuner(
      space: space, classifier: pipeline.classifier, classifierName: pipeline.classifierName,
      detectors: pipeline.detectors, threads: options.threads ?? Parallel.defaultThreadCount,
      stealing: try space.stealing.map {
        Tuner.Stealing(
          attack: $0.attack(classes: pipeline.classCount),
          queries: try $0.loadQueries(for: pipeline, file: file.path))
      })
    return (tuner, data, (clock.now - started).inSeconds)
  }

  /// The tuner's options for a session's.
  private func tunerOptions(_ options: Options, folder: URL, fileHash: String) -> Tuner.Options {
    Tuner.Options(
      sample: options.sample, seed: options.seed, refine: options.refine,
      resume: options.resume, limit: options.stopAfter, folder: folder, fileHash: fileHash,
      merging: options.merging)
  }

  /// One classifier's run: its data (the sets made against it), the search with its journal in
  /// `folder`, and its winner's full score, each timed.
  private func tune(
    _ description: PipelineDescription, folder: URL, fileHash: String,
    adaptiveSets: [AdaptiveAttack], options: Options,
    progress: @escaping @Sendable (Progress) -> Void
  ) throws -> (outcome: TuningOutcome, timing: Timing, tuner: Tuner) {
    let clock = ContinuousClock()
    let (tuner, data, loadSeconds) = try load(
      description, shard: nil, options: options, progress: progress)
    let loaded = clock.now
    let phases = Mutex(
      (
        current: TuningPhase?.none, began: clock.now,
        fullBegan: ContinuousClock
          .Instant?.none
      ))
    let outcome = try tuner.run(
      data: data, adaptiveSets: adaptiveSets,
      options: tunerOptions(options, folder: folder, fileHash: fileHash)
    ) { phase, done, total in
      let now = clock.now
      let began = phases.withLock { state -> ContinuousClock.Instant in
        if state.current != phase { state = (phase, now, state.fullBegan) }
        if phase == .full, state.fullBegan == nil { state.fullBegan = now }
        return state.began
      }
      progress(.tuning(phase, done: done, total: total, elapsed: now - began))
    }
    let finished = clock.now
    let fullBegan = phases.withLock { $0.fullBegan } ?? finished
    return (
      outcome,
      Timing(
        data: loadSeconds, tuning: (fullBegan - loaded).inSeconds,
        full: (finished - fullBegan).inSeconds),
      tuner
    )
  }
}
