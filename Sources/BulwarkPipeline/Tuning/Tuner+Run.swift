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
    /// Whether the grid's results come from the journals of a sharded run in `folder`
    /// (`journal-I-of-N.jsonl`, see `runShard`) instead of being scored here; the rest of the
    /// run (refinement, re-ranking, full scores) goes on as in an unsharded run.
    public var merging: Bool

    /// Creates options.
    /// - Parameters:
    ///   - sample: Images sampled from each set (nil: the space's).
    ///   - seed: The sample's seed.
    ///   - refine: Whether to refine.
    ///   - resume: Whether to continue the journal.
    ///   - limit: Score at most this many new configurations.
    ///   - folder: The run folder.
    ///   - fileHash: SHA-256 of the pipeline file.
    ///   - merging: Whether to take the grid's results from a sharded run's journals.
    public init(
      sample: Int? = nil, seed: UInt64 = 0, refine: Bool = false, resume: Bool = false,
      limit: Int? = nil, folder: URL, fileHash: String, merging: Bool = false
    ) {
      self.sample = sample
      self.seed = seed
      self.refine = refine
      self.resume = resume
      self.limit = limit
      self.folder = folder
      self.fileHash = fileHash
      self.merging = merging
    }
  }

  /// The journal file of a run in its folder: `journal.jsonl`, or a shard's
  /// `journal-I-of-N.jsonl`.
  /// - Parameter shard: The shard, or nil for an unsharded run or a merge.
  /// - Returns: The file name.
  public static func journalName(for shard: Shard?) -> String {
    shard.map { "journal-\($0.fileTag).jsonl" } ?? "journal.jsonl"
  }

  /// Scores one shard of the grid (see `TuningPartition`) on the sample and journals each
  /// result in `journal-I-of-N.jsonl` in the run folder; a merge (`Options.merging`) then
  /// ranks the shards' results together. The sample is drawn as in an unsharded run, so every
  /// shard scores on the same images and the results equal those of one process.
  /// - Parameters:
  ///   - shard: The shard.
  ///   - data: The full clean set and the adversarial sets made once.
  ///   - options: Sampling and journal settings (`refine` and `merging` belong to the merge).
  ///   - progress: Called with the phase (`grid`), done and total.
  /// - Returns: What the shard scored.
  /// - Throws: As `run`.
  public func runShard(
    _ shard: Shard, data: PipelineDescription.Data, options: Options,
    progress: @escaping @Sendable (TuningPhase, Int, Int) -> Void = { _, _, _ in }
  ) throws -> TuningShardOutcome {
    let (sample, settings) = try prepare(data, options: options, shard: shard)
    let url = options.folder.appendingPathComponent(Self.journalName(for: shard))
    let (journal, finished) = try TuningJournal.open(
      at: url, settings: settings, resume: options.resume)
    let grid = try nonEmptyGrid()
    let partition = TuningPartition(grid: grid, shards: shard.count)
    let positions = partition.positions(of: shard)
    let (results, done) = try evaluate(
      positions.map { ($0, "grid", grid[$0]) }, sample: sample, finished: finished,
      journal: journal, limit: options.limit
    ) { progress(.grid, $0, $1) }
    guard results.count == positions.count else {
      throw TuningError(
        message: "stopped after \(done.evaluated) new configurations as asked", remedy: .resume)
    }
    try journal.record(
      .init(classifierPasses: done.classifierPasses, imagesClassified: done.imagesClassified))
    return TuningShardOutcome(
      shard: shard, configurations: positions.count,
      shareOfCost: partition.costShares[shard.index - 1], statistics: done, journal: url)
  }

  /// The sample a run draws and the settings its journal records.
  private func prepare(
    _ data: PipelineDescription.Data, options: Options, shard: Shard?
  ) throws -> (TuningSample, TuningJournal.Settings) {
    let size = options.sample ?? space.sample
    let sample = try flagging(
      TuningSample(data, count: size, fitFraction: space.fitFraction, seed: options.seed))
    let settings = TuningJournal.Settings(
      fileHash: options.fileHash, seed: options.seed, sample: size,
      fitFraction: space.fitFraction, shard: shard?.description)
    return (sample, settings)
  }

  /// The search space's grid, refused when empty.
  private func nonEmptyGrid() throws -> [TuningCandidate] {
    let grid = space.candidates
    guard !grid.isEmpty else { throw TuningError(message: "the search space is empty") }
    return grid
  }

  /// The results of a sharded run's journals in `folder`, checked: every shard's journal there,
  /// written with the merge's settings, with every configuration of its share finished.
  /// - Throws: `TuningError` naming the differing setting, or listing by shard the missing
  ///   journals and unfinished configurations.
  private func shardResults(
    grid: [TuningCandidate], settings: TuningJournal.Settings, folder: URL
  ) throws -> TuningJournal.Contents {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    let counts = Set(
      names.compactMap { name -> Int? in
        let parts = name.split(separator: "-")
        guard parts.count == 4, parts[0] == "journal", parts[2] == "of",
          parts[3].hasSuffix(".jsonl"), Int(parts[1]) != nil
        else { return nil }
        return Int(parts[3].dropLast(".jsonl".count))
      }
    ).sorted()
    guard let count = counts.first, (1...Shard.maximumCount).contains(count) else {
      throw TuningError(
        message: "nothing to merge: \(folder.path) holds no shard journals "
          + "(journal-I-of-N.jsonl); run the shards first with --shard I/N and this folder")
    }
    guard counts.count == 1 else {
      throw TuningError(
        message: "\(folder.path) holds the journals of runs with "
          + counts.map(String.init).joined(separator: " and ")
          + " shards; keep one run's journals in a folder")
    }
    let partition = TuningPartition(grid: grid, shards: count)
    var merged = TuningJournal.Contents()
    var problems: [String] = []
    for shard in (try Shard(1, of: count)).siblings {
      let url = folder.appendingPathComponent(Self.journalName(for: shard))
      let share = partition.positions(of: shard)
      var expected = settings
      expected.shard = shard.description
      var contents = TuningJournal.Contents()
      if FileAccess.kind(of: url.path) == .missing {
        problems.append("shard \(shard): no \(url.lastPathComponent) (the shard has not run)")
      } else {
        contents = try TuningJournal.read(at: url)
        guard let found = contents.settings else {
          problems.append("shard \(shard): \(url.lastPathComponent) is empty")
          continue
        }
        if let difference = expected.difference(from: found) {
          throw TuningError(
            message: "\(url.path) was written with other settings than this merge's: "
              + difference + "; merge with the shards' settings, or run the shards again")
        }
      }
      let missing = share.filter { contents.results[grid[$0].key] == nil }
      if !missing.isEmpty {
        let listed = missing.prefix(10).map { "#\($0) \(grid[$0].key)" }
        problems.append(
          "shard \(shard): \(missing.count) of \(share.count) configurations unfinished: "
            + listed.joined(separator: "; ")
            + (missing.count > listed.count ? "; … \(missing.count - listed.count) more" : ""))
      }
      merged.results.merge(contents.results) { first, _ in first }
      merged.work.classifierPasses += contents.work.classifierPasses
      merged.work.imagesClassified += contents.work.imagesClassified
    }
    guard problems.isEmpty else {
      throw TuningError(
        message: "cannot merge the \(count) shards in \(folder.path):\n"
          + problems.joined(separator: "\n")
          + "\nrun those shards again with --resume (they keep their finished work), then merge")
    }
    return merged
  }

  /// Runs the search: samples every set, scores the grid (and with `refine` a finer grid around
  /// the best) on the sets made once, and, for the worst-case objective with adaptive sets,
  /// re-ranks the best `space.rerank` against attacks made against each of them; journals
  /// every result, and re-scores the best (with `refine`, the best 3) on the full sets with the
  /// normal scorer, leaving out the images of the sample's fit part (a fitted postprocessor
  /// learnt from them) and making the adaptive sets against each of them.
  /// - Parameters:
  ///   - data: The full clean set and the adversarial sets made once (not per configuration).
  ///   - adaptiveSets: The sets to make against each configuration re-ranked and scored in
  ///     full (`against: "pipeline"`).
  ///   - options: Sampling, journal and refinement settings.
  ///   - progress: Called with the phase, done and total.
  /// - Returns: The ranking and the winner.
  /// - Throws: `TuningError` for a foreign journal, an empty grid or a stop at `limit`; errors
  ///   from the stages, the classifier, the attacks and the journal.
  public func run(
    data: PipelineDescription.Data, adaptiveSets: [AdaptiveAttack] = [], options: Options,
    progress: @escaping @Sendable (TuningPhase, Int, Int) -> Void = { _, _, _ in }
  ) throws -> TuningOutcome {
    let (sample, settings) = try prepare(data, options: options, shard: nil)
    let (journal, journalled) = try TuningJournal.open(
      at: options.folder.appendingPathComponent(Self.journalName(for: nil)),
      settings: settings, resume: options.resume)
    var finished = journalled
    let grid = try nonEmptyGrid()
    var known = Dictionary(grid.map { ($0.key, $0) }) { first, _ in first }
    var limit = options.limit
    var statistics = Statistics(classifierPasses: 0, imagesClassified: 0, evaluated: 0)
    if options.merging {
      // The merge's own journal (refinement, re-ranking, full scores) is newer than the shards'.
      let shards = try shardResults(grid: grid, settings: settings, folder: options.folder)
      finished.merge(shards.results) { own, _ in own }
      statistics.classifierPasses += shards.work.classifierPasses
      statistics.imagesClassified += shards.work.imagesClassified
    }
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
    if space.objective.usesWorstCase, !adaptiveSets.isEmpty {
      // The sets made once are cheap to score for every configuration; an attack made against
      // each configuration costs a run apiece, so only the leaders on the cheap sets face it.
      let leaders = Array(ranked(results).prefix(space.rerank))
      var attacked: [String: TuningResult] = [:]
      for (position, leader) in leaders.enumerated() {
        progress(.rerank, position, leaders.count)
        if let done = finished[leader.key], done.attackedAdaptively {
          attacked[leader.key] = done
          continue
        }
        if let remaining = limit, remaining <= 0 {
          throw TuningError(
            message: "stopped after \(statistics.evaluated) new configurations and "
              + "\(statistics.attackedAdaptively) adaptive attacks as asked", remedy: .resume)
        }
        guard let candidate = known[leader.key] else {
          throw TuningError(message: "internal: configuration '\(leader.key)' is unknown")
        }
        let result = try attackingAdaptively(
          leader, candidate: candidate, sample: sample, attacks: adaptiveSets)
        try journal.append(result)
        statistics.attackedAdaptively += 1
        limit = limit.map { $0 - 1 }
        attacked[leader.key] = result
      }
      progress(.rerank, leaders.count, leaders.count)
      results = results.map { attacked[$0.key] ?? $0 }
    }
    let order = ranked(results)
    // A fitted postprocessor learnt from the sample's fit part, so a configuration with one is
    // scored on the full sets without those images (by fingerprint, so that duplicates of them
    // go too); the others on the full sets. Both are scores on images the configuration never
    // learnt from. Adaptive sets are made against each configuration on the full clean set,
    // as `bulwark score` makes them for its `best.json5`, and lose the same images.
    let fitPrints = (
      clean: sample.fitClean.fingerprints(), adversarial: sample.fitAdversarial.fingerprints()
    )
    let excluded = Set(fitPrints.clean + fitPrints.adversarial)
    func fullSets(for pipeline: Pipeline) throws -> PipelineDescription.Data {
      var sets = data
      for attack in adaptiveSets {
        sets.adversarialSets.append(
          .init(
            name: attack.name, images: try attack.perturb(data.clean, against: pipeline),
            fromCache: false, attacker: attack.settings.summary, isPaired: true))
      }
      let fitted = pipeline.postprocessors.contains { $0 is any FittedPostprocessor }
      return fitted ? sets.removing(fingerprints: excluded) : sets
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
      let pipeline = self.pipeline(
        preprocessors: candidate.preprocessors.compactMap(\.preprocessor),
        postprocessors: try postprocessors(of: candidate))
      var scored = result
      let sets = try fullSets(for: pipeline)
      scored.full = try pipeline.score(sets)
      scored.fullStealing = try stolen(from: pipeline, test: sets.clean)
      try journal.append(scored)
      rescored.append(scored)
    }
    progress(.full, top.count, top.count)
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
    let full = winner.full.map {
      (clean: $0.clean.total, adversarial: $0.adversarialSets[0].score.total)
    }
    let fullImages = full ?? (data.clean.count, data.adversarial.count)
    return TuningOutcome(
      ranked: order.map { rescoredKeys[$0.key] ?? $0 }, rescored: rescored, winner: winner,
      winnerCandidate: winnerCandidate, winnerPostprocessors: winnerStages, fit: fit,
      statistics: statistics,
      sampleImages: (
        sample.adversarialSets.reduce(sample.clean.count) { $0 + $1.evaluation.count },
        sample.fitClean.count + sample.fitAdversarial.count
      ),
      fullImages: fullImages,
      excludedImages: (
        data.clean.count - fullImages.clean, data.adversarial.count - fullImages.adversarial
      ))
  }

  /// The objective of a configuration re-scored on the full sets (-1 for one that was not):
  /// what picks the winner among them.
  /// - Parameter result: A result.
  /// - Returns: The objective on the full sets.
  func fullValue(_ result: TuningResult) -> Double {
    guard let full = result.full else { return -1 }
    let adversarial =
      space.objective.usesWorstCase ? full.adversarial : full.adversarialSets[0].score
    return space.objective.value(
      clean: (full.clean.correct, full.clean.total),
      adversarial: (adversarial.correct, adversarial.total),
      stolen: TuningResult.stolen(result.fullStealing, objective: space.objective))
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
      let table = try Self.apply(postprocessors, to: tables)
      let outcomes = ImageOutcomes(sample.abstaining(table, fitSet: set), labels: labels)
      correct += outcomes.counts.correct
    }
    let total = sample.fitClean.count + sample.fitAdversarial.count
    return total == 0 ? 0 : Double(correct) / Double(total)
  }
}
