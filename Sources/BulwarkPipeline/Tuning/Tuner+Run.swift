import BulwarkData
import BulwarkDefenses
import Foundation

extension Tuner {
  /// How a run samples, where it keeps its journal and whether it refines.
  public struct Options: Sendable {
    /// Images sampled from each set (nil: the space's `sample`).
    public var sample: Int?
    /// The sample's seed.
    public var seed: UInt64
    /// Whether to search a finer grid around the best and re-score the top 3 on the full sets.
    public var refine: Bool
    /// Whether to continue the journal in `folder`.
    public var resume: Bool
    /// Score at most this many new configurations, then stop (to test interruption).
    public var limit: Int?
    /// The run folder (the journal is `journal.jsonl` in it).
    public var folder: URL
    /// SHA-256 of the pipeline file, recorded in the journal.
    public var fileHash: String

    /// Creates options.
    /// - Parameters:
    ///   - sample: Images sampled from each set (nil: the space's).
    ///   - seed: The sample's seed.
    ///   - refine: Whether to refine.
    ///   - resume: Whether to continue the journal.
    ///   - limit: Score at most this many new configurations.
    ///   - folder: The run folder.
    ///   - fileHash: SHA-256 of the pipeline file.
    public init(
      sample: Int? = nil, seed: UInt64 = 0, refine: Bool = false, resume: Bool = false,
      limit: Int? = nil, folder: URL, fileHash: String
    ) {
      self.sample = sample
      self.seed = seed
      self.refine = refine
      self.resume = resume
      self.limit = limit
      self.folder = folder
      self.fileHash = fileHash
    }
  }

  /// Runs the search: samples both sets, scores the grid (and with `refine` a finer grid around
  /// the best), journals every result, and re-scores the best (with `refine`, the best 3) on the
  /// full sets with the normal scorer.
  /// - Parameters:
  ///   - data: The full clean and adversarial sets.
  ///   - paired: Whether adversarial image `i` attacks clean image `i`.
  ///   - options: Sampling, journal and refinement settings.
  ///   - progress: Called with the phase (`grid`, `refine`, `full`), done and total.
  /// - Returns: The ranking and the winner.
  /// - Throws: `TuningError` for a foreign journal, an empty grid or a stop at `limit`; errors
  ///   from the stages, the classifier and the journal.
  public func run(
    data: PipelineDescription.Data, paired: Bool, options: Options,
    progress: @escaping @Sendable (String, Int, Int) -> Void = { _, _, _ in }
  ) throws -> TuningOutcome {
    let size = options.sample ?? space.sample
    let sample = TuningSample(
      clean: data.clean, adversarial: data.adversarial, paired: paired, count: size,
      fitFraction: space.fitFraction, seed: options.seed)
    let settings = TuningJournal.Settings(
      fileHash: options.fileHash, seed: options.seed, sample: size,
      fitFraction: space.fitFraction)
    let (journal, finished) = try TuningJournal.open(
      at: options.folder.appendingPathComponent("journal.jsonl"), settings: settings,
      resume: options.resume)
    let grid = space.candidates
    guard !grid.isEmpty else { throw TuningError(message: "the search space is empty") }
    var known = Dictionary(grid.map { ($0.key, $0) }) { first, _ in first }
    var limit = options.limit
    var statistics = Statistics(classifierPasses: 0, imagesClassified: 0, evaluated: 0)
    func phase(
      _ name: String, _ candidates: [(index: Int, phase: String, candidate: TuningCandidate)]
    ) throws -> [TuningResult] {
      let (results, done) = try evaluate(
        candidates, sample: sample, finished: finished, journal: journal, limit: limit
      ) { progress(name, $0, $1) }
      statistics.classifierPasses += done.classifierPasses
      statistics.imagesClassified += done.imagesClassified
      statistics.evaluated += done.evaluated
      limit = limit.map { $0 - done.evaluated }
      guard results.count == candidates.count else {
        throw TuningError(
          message: "stopped after \(statistics.evaluated) new configurations as asked; "
            + "continue with --resume")
      }
      return results
    }
    var results = try phase("grid", grid.enumerated().map { ($0.offset, "grid", $0.element) })
    if options.refine, let best = ranked(results).first, let candidate = known[best.key] {
      let finer = refinement(around: candidate).filter { known[$0.key] == nil }
      for extra in finer { known[extra.key] = extra }
      results += try phase(
        "refine", finer.enumerated().map { (grid.count + $0.offset, "refine", $0.element) })
    }
    let order = ranked(results)
    var rescored: [TuningResult] = []
    let top = Array(order.prefix(options.refine ? 3 : 1))
    for (position, result) in top.enumerated() {
      progress("full", position, top.count)
      if let done = finished[result.key], done.full != nil {
        rescored.append(done)
        continue
      }
      guard let candidate = known[result.key] else {
        throw TuningError(message: "internal: configuration '\(result.key)' is unknown")
      }
      var outputs = PreprocessingOutputs(
        stages: candidate.preprocessors.compactMap(\.preprocessor), classifier: classifier,
        sample: sample)
      let pipeline = Pipeline(
        classifier: classifier, preprocessors: outputs.stages,
        postprocessors: try fitted(candidate, outputs: &outputs), classifierName: classifierName)
      var scored = result
      scored.full = try pipeline.score(clean: data.clean, adversarial: data.adversarial)
      try journal.append(scored)
      rescored.append(scored)
    }
    progress("full", top.count, top.count)
    func fullValue(_ result: TuningResult) -> Double {
      guard let full = result.full else { return -1 }
      return space.objective.value(
        clean: (full.clean.correct, full.clean.total),
        adversarial: (full.adversarial.correct, full.adversarial.total))
    }
    // The first of the best keeps the sample's ranking as the tie-break.
    var winner = rescored[0]
    for result in rescored.dropFirst() where fullValue(result) > fullValue(winner) {
      winner = result
    }
    let rescoredKeys = Dictionary(rescored.map { ($0.key, $0) }) { first, _ in first }
    guard let winnerCandidate = known[winner.key] else {
      throw TuningError(message: "internal: the winner's configuration is unknown")
    }
    return TuningOutcome(
      ranked: order.map { rescoredKeys[$0.key] ?? $0 }, rescored: rescored, winner: winner,
      winnerCandidate: winnerCandidate, statistics: statistics,
      sampleImages: (
        sample.clean.count + sample.adversarial.count,
        sample.fitClean.count + sample.fitAdversarial.count
      ))
  }
}
