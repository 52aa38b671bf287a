import BulwarkCore
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
  /// full sets with the normal scorer, leaving out the images of the sample's fit part (a fitted
  /// postprocessor learnt from them).
  /// - Parameters:
  ///   - data: The full clean and adversarial sets.
  ///   - paired: Whether adversarial image `i` attacks clean image `i`.
  ///   - options: Sampling, journal and refinement settings.
  ///   - progress: Called with the phase, done and total.
  /// - Returns: The ranking and the winner.
  /// - Throws: `TuningError` for a foreign journal, an empty grid or a stop at `limit`; errors
  ///   from the stages, the classifier and the journal.
  public func run(
    data: PipelineDescription.Data, paired: Bool, options: Options,
    progress: @escaping @Sendable (TuningPhase, Int, Int) -> Void = { _, _, _ in }
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
      _ name: TuningPhase, _ candidates: [(index: Int, phase: String, candidate: TuningCandidate)]
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
          message: "stopped after \(statistics.evaluated) new configurations as asked",
          remedy: .resume)
      }
      return results
    }
    var results = try phase(.grid, grid.enumerated().map { ($0.offset, "grid", $0.element) })
    if options.refine, let best = ranked(results).first, let candidate = known[best.key] {
      let finer = refinement(around: candidate).filter { known[$0.key] == nil }
      for extra in finer { known[extra.key] = extra }
      results += try phase(
        .refine, finer.enumerated().map { (grid.count + $0.offset, "refine", $0.element) })
    }
    let order = ranked(results)
    // A fitted postprocessor learnt from the sample's fit part, so a configuration with one is
    // scored on the full sets without those images (by fingerprint, so that duplicates of them
    // go too); the others on the full sets. Both are scores on images the configuration never
    // learnt from.
    let fitPrints = (
      clean: sample.fitClean.fingerprints(), adversarial: sample.fitAdversarial.fingerprints()
    )
    var withoutFitPart: (clean: ImageBatch, adversarial: ImageBatch)?
    func fullSets(for stages: [any Postprocessor]) -> (clean: ImageBatch, adversarial: ImageBatch) {
      guard stages.contains(where: { $0 is any FittedPostprocessor }) else {
        return (data.clean, data.adversarial)
      }
      if let withoutFitPart { return withoutFitPart }
      let excluded = Set(fitPrints.clean + fitPrints.adversarial)
      let sets = (
        clean: data.clean.removing(fingerprints: excluded),
        adversarial: data.adversarial.removing(fingerprints: excluded)
      )
      withoutFitPart = sets
      return sets
    }
    var rescored: [TuningResult] = []
    var fittedStages: [String: (stages: [any Postprocessor], seconds: Double)] = [:]
    func postprocessors(of candidate: TuningCandidate) throws -> [any Postprocessor] {
      if let known = fittedStages[candidate.key] { return known.stages }
      let clock = ContinuousClock()
      let start = clock.now
      var outputs = PreprocessingOutputs(
        stages: candidate.preprocessors.compactMap(\.preprocessor), classifier: classifier,
        sample: sample)
      let stages = try fitted(candidate, outputs: &outputs)
      fittedStages[candidate.key] = (stages, (clock.now - start).inSeconds)
      return stages
    }
    let top = Array(order.prefix(options.refine ? 3 : 1))
    for (position, result) in top.enumerated() {
      progress(.full, position, top.count)
      if let done = finished[result.key], done.full != nil {
        rescored.append(done)
        continue
      }
      guard let candidate = known[result.key] else {
        throw TuningError(message: "internal: configuration '\(result.key)' is unknown")
      }
      // The normal scorer: every pass of a multi-pass postprocessor through `Pipeline.run`.
      let pipeline = Pipeline(
        classifier: classifier, preprocessors: candidate.preprocessors.compactMap(\.preprocessor),
        postprocessors: try postprocessors(of: candidate), classifierName: classifierName)
      let sets = fullSets(for: pipeline.postprocessors)
      var scored = result
      scored.full = try pipeline.score(clean: sets.clean, adversarial: sets.adversarial)
      try journal.append(scored)
      rescored.append(scored)
    }
    progress(.full, top.count, top.count)
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
    // After a resume the winner's fitted stage is fitted again, the same way: fitting is
    // seeded and the sample is the same.
    let winnerStages = try postprocessors(of: winnerCandidate)
    var fit: TuningOutcome.Fit?
    if let stage = winnerStages.lazy.compactMap({ $0 as? any FittedPostprocessor }).first {
      fit = TuningOutcome.Fit(
        stage: stage, cleanFingerprints: fitPrints.clean,
        adversarialFingerprints: fitPrints.adversarial,
        trainingAccuracy: try fitAccuracy(
          of: winnerCandidate, postprocessors: winnerStages, sample: sample),
        seconds: fittedStages[winner.key]?.seconds ?? 0)
    }
    let sets = fullSets(for: winnerStages)
    return TuningOutcome(
      ranked: order.map { rescoredKeys[$0.key] ?? $0 }, rescored: rescored, winner: winner,
      winnerCandidate: winnerCandidate, winnerPostprocessors: winnerStages, fit: fit,
      statistics: statistics,
      sampleImages: (
        sample.clean.count + sample.adversarial.count,
        sample.fitClean.count + sample.fitAdversarial.count
      ),
      fullImages: (sets.clean.count, sets.adversarial.count),
      excludedImages: (
        data.clean.count - sets.clean.count, data.adversarial.count - sets.adversarial.count
      ))
  }

  /// The share of the sample's fit part that a configuration with fitted postprocessors
  /// classifies correctly (its training accuracy).
  private func fitAccuracy(
    of candidate: TuningCandidate, postprocessors: [any Postprocessor], sample: TuningSample
  ) throws -> Double {
    var outputs = PreprocessingOutputs(
      stages: candidate.preprocessors.compactMap(\.preprocessor), classifier: classifier,
      sample: sample)
    var correct = 0
    let labelSets = [sample.fitClean.labels, sample.fitAdversarial.labels]
    for (set, labels) in labelSets.enumerated() where !labels.isEmpty {
      let tables = try (0..<Self.passes(of: postprocessors)).map {
        try outputs.probabilities(pass: $0).fit[set]
      }
      correct += Self.count(try Self.apply(postprocessors, to: tables), labels: labels).correct
    }
    let total = sample.fitClean.count + sample.fitAdversarial.count
    return total == 0 ? 0 : Double(correct) / Double(total)
  }
}
