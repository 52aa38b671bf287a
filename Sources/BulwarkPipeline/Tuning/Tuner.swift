import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import Foundation
import Synchronization

/// Grid search over a pipeline file's search space (see `SearchSpace`): every configuration is
/// scored on a sample's evaluation part, the classifier running once per distinct
/// preprocessing (and pass) so that postprocessors and their grids reuse its probabilities; the
/// best few are then re-scored on the full sets with the normal scorer.
///
/// The CS5260 report's procedure (coarse search on a sample, fine search around the best, final
/// score on the whole set), reproducible: the same seed gives the same ranking whatever the
/// thread count, and a journal lets an interrupted run resume.
public struct Tuner: Sendable {
  /// What a run did besides scoring: classifier work and configurations evaluated.
  public struct Statistics: Sendable, Equatable {
    /// Classifier passes over the sample (one per distinct preprocessing and pass).
    public var classifierPasses: Int
    /// Images the classifier classified in those passes.
    public var imagesClassified: Int
    /// Configurations scored in this run (not read from the journal).
    public var evaluated: Int
    /// Configurations attacked in this run by the sets made against each of them.
    public var attackedAdaptively = 0
  }

  /// The search space.
  public var space: SearchSpace
  /// The frozen classifier.
  public var classifier: any Classifier
  /// The classifier's name in timings.
  public var classifierName: String
  /// The pipeline's detectors, fixed across the search: every configuration abstains on the
  /// images they flag.
  public var detectors: [any Detector]
  /// Preprocessings scored at once.
  public var threads: Int
  /// The stealing objective's attack and queries; nil for the other objectives.
  public var stealing: Stealing?

  /// The model-stealing attack the stealing objective runs against every configuration.
  public struct Stealing: Sendable {
    /// The attack (`StealingSetup.attack(classes:)`).
    public var attack: ModelStealing
    /// The images it sends (`StealingSetup.loadQueries(for:file:)`).
    public var queries: ImageBatch

    /// Creates the stealing objective's attack.
    /// - Parameters:
    ///   - attack: The attack.
    ///   - queries: The images it sends each configuration.
    public init(attack: ModelStealing, queries: ImageBatch) {
      self.attack = attack
      self.queries = queries
    }
  }

  /// Creates a tuner.
  /// - Parameters:
  ///   - space: The search space.
  ///   - classifier: The frozen classifier.
  ///   - classifierName: Its name in timings.
  ///   - detectors: The pipeline's detectors, fitted.
  ///   - threads: Preprocessings scored at once (default: every active core).
  ///   - stealing: The stealing objective's attack (required by it).
  public init(
    space: SearchSpace, classifier: any Classifier, classifierName: String = "classifier",
    detectors: [any Detector] = [],
    threads: Int = ProcessInfo.processInfo.activeProcessorCount, stealing: Stealing? = nil
  ) {
    self.space = space
    self.classifier = classifier
    self.classifierName = classifierName
    self.detectors = detectors
    self.threads = max(1, threads)
    self.stealing = stealing
  }

  /// Ranks results: configurations meeting the constraints first, then those attacked by the
  /// sets made against them (whose worst case covers every set; the others' is an upper bound),
  /// then by the objective (higher first), then by grid order. Time counts only through
  /// `maxSecondsPerImage`.
  /// - Parameter results: Scored configurations.
  /// - Returns: The results, best first.
  public func ranked(_ results: [TuningResult]) -> [TuningResult] {
    results.sorted { a, b in
      let (fa, fb) = (isFeasible(a), isFeasible(b))
      if fa != fb { return fa }
      if a.attackedAdaptively != b.attackedAdaptively { return a.attackedAdaptively }
      let (va, vb) = (a.value(of: space.objective), b.value(of: space.objective))
      if va != vb { return va > vb }
      return a.index < b.index
    }
  }

  /// Whether a result meets the space's constraints.
  /// - Parameter result: A scored configuration.
  /// - Returns: True when it meets `minCleanAccuracy` and `maxSecondsPerImage`.
  public func isFeasible(_ result: TuningResult) -> Bool { Self.feasible(result, in: space) }

  /// Whether a result meets a space's constraints.
  static func feasible(_ result: TuningResult, in space: SearchSpace) -> Bool {
    if let minimum = space.minCleanAccuracy, result.clean.accuracy < minimum { return false }
    if let maximum = space.maxSecondsPerImage, result.secondsPerImage > maximum { return false }
    return true
  }

  /// The finer grid around a configuration's numeric tuned parameters (see
  /// `ParameterGrid.refinement(around:spacing:integral:)`): the product over its stages of
  /// each stage's refined values, without the configuration itself.
  /// - Parameter best: The configuration to refine.
  /// - Returns: The new configurations, in a fixed order.
  public func refinement(around best: TuningCandidate) -> [TuningCandidate] {
    func alternatives(_ choice: StageChoice, isPreprocessor: Bool) -> [StageChoice] {
      guard !choice.tuned.isEmpty else { return [choice] }
      var combinations: [[String: Double]] = [[:]]
      for tuned in choice.tuned {
        let values =
          [tuned.value]
          + ParameterGrid.refinement(
            around: tuned.value, spacing: tuned.spacing, integral: tuned.isIntegral)
        combinations = combinations.flatMap { base in
          values.map { base.merging([tuned.parameter: $0]) { $1 } }
        }
      }
      return combinations.compactMap {
        space.rebuilt(choice, values: $0, isPreprocessor: isPreprocessor)
      }
    }
    var result = [TuningCandidate(preprocessors: [], postprocessors: [])]
    for choice in best.preprocessors {
      let options = alternatives(choice, isPreprocessor: true)
      result = result.flatMap { base in
        options.map {
          TuningCandidate(preprocessors: base.preprocessors + [$0], postprocessors: [])
        }
      }
    }
    for choice in best.postprocessors {
      let options = alternatives(choice, isPreprocessor: false)
      result = result.flatMap { base in
        options.map {
          TuningCandidate(
            preprocessors: base.preprocessors, postprocessors: base.postprocessors + [$0])
        }
      }
    }
    return result.filter { $0.key != best.key }
  }

  /// Scores configurations on a sample's evaluation part, skipping those already finished.
  /// - Parameters:
  ///   - candidates: The configurations with their grid index and phase.
  ///   - sample: The sample.
  ///   - finished: Results already known (from a journal), by key.
  ///   - journal: Receives every new result as it finishes.
  ///   - limit: Score at most this many new configurations, then stop (for testing
  ///     interruption).
  ///   - progress: Called with (configurations done, total) as they finish.
  /// - Returns: Every candidate's result in the candidates' order (fewer when the limit
  ///   stopped the run), and the work done.
  /// - Throws: Errors from the stages, the classifier or the journal.
  func evaluate(
    _ candidates: [(index: Int, phase: String, candidate: TuningCandidate)],
    sample: TuningSample, finished: [String: TuningResult], journal: TuningJournal?,
    limit: Int?, progress: @escaping @Sendable (Int, Int) -> Void
  ) throws -> ([TuningResult], Statistics) {
    struct State {
      var results: [String: TuningResult] = [:]
      var statistics = Statistics(classifierPasses: 0, imagesClassified: 0, evaluated: 0)
      var error: (any Error)?
      var stopped = false
    }
    var groups: [[Int]] = []
    var groupOf: [String: Int] = [:]
    // Configurations sharing a preprocessing share its classifier outputs; with the stealing
    // objective each trains a student, which costs far more than a classifier pass, so each is
    // a group of its own and the workers train students side by side.
    let studentPerConfiguration = space.stealing != nil
    for (position, entry) in candidates.enumerated() where finished[entry.candidate.key] == nil {
      let key =
        studentPerConfiguration ? entry.candidate.key : entry.candidate.preprocessingKey
      if let group = groupOf[key] {
        groups[group].append(position)
      } else {
        groupOf[key] = groups.count
        groups.append([position])
      }
    }
    let groupsFound = groups
    let state = Mutex(State())
    let total = candidates.count
    let alreadyDone = candidates.count - groups.reduce(0) { $0 + $1.count }
    progress(alreadyDone, total)
    let workers = max(1, min(threads, groups.count))
    let work: @Sendable (Int) -> Void = { worker in
      for group in stride(from: worker, to: groupsFound.count, by: workers) {
        let members = groupsFound[group]
        var outputs = PreprocessingOutputs(
          stages: candidates[members[0]].candidate.preprocessors.compactMap(\.preprocessor),
          classifier: classifier, sample: sample)
        for position in members {
          let go = state.withLock { state -> Bool in
            guard state.error == nil, !state.stopped else { return false }
            if let limit, state.statistics.evaluated >= limit {
              state.stopped = true
              return false
            }
            state.statistics.evaluated += 1
            return true
          }
          guard go else { return }
          do {
            let entry = candidates[position]
            let result = try score(
              entry.candidate, index: entry.index, phase: entry.phase, outputs: &outputs)
            try journal?.append(result)
            let done = state.withLock { state -> Int in
              state.results[result.key] = result
              return alreadyDone + state.results.count
            }
            progress(done, total)
          } catch {
            state.withLock { if $0.error == nil { $0.error = error } }
            return
          }
        }
        state.withLock {
          $0.statistics.classifierPasses += outputs.passes
          $0.statistics.imagesClassified += outputs.imagesClassified
        }
      }
    }
    Parallel.forEach(workers, workers: workers) { _, worker in work(worker) }
    let final = state.withLock { $0 }
    if let error = final.error { throw error }
    let results = candidates.compactMap {
      final.results[$0.candidate.key] ?? finished[$0.candidate.key]
    }
    return (results, final.statistics)
  }

  /// Scores one configuration from the cached classifier outputs of its preprocessing.
  private func score(
    _ candidate: TuningCandidate, index: Int, phase: String, outputs: inout PreprocessingOutputs
  ) throws -> TuningResult {
    let clock = ContinuousClock()
    let postprocessors = try fitted(candidate, outputs: &outputs)
    let start = clock.now
    let scored = try outcomes(of: postprocessors, outputs: &outputs)
    let postSeconds = (clock.now - start) / Double(max(outputs.evaluationImages, 1))
    let passes = Self.passes(of: postprocessors)
    var stages = zip(detectors, outputs.sample.detectorSeconds).map {
      StageTiming(kind: "detector", name: Pipeline.name(of: $0), secondsPerImage: $1)
    }
    _ = try outputs.probabilities(pass: 0)
    for (stage, seconds) in zip(outputs.stages, outputs.stageSeconds) {
      stages.append(
        StageTiming(
          kind: "preprocessor", name: Pipeline.name(of: stage),
          secondsPerImage: seconds * Double(passes)))
    }
    stages.append(
      StageTiming(
        kind: "classifier", name: classifierName,
        secondsPerImage: outputs.classifierSeconds * Double(passes)))
    let postTotal = postSeconds.inSeconds
    for stage in postprocessors {
      stages.append(
        StageTiming(
          kind: "postprocessor", name: Pipeline.name(of: stage),
          secondsPerImage: postTotal / Double(postprocessors.count)))
    }
    var parameters: [String: Double] = [:]
    for (name, tuned) in candidate.tunedValues { parameters[name] = tuned.value }
    let victim = pipeline(preprocessors: outputs.stages, postprocessors: postprocessors)
    return result(
      index: index, phase: phase, key: candidate.key, parameters: parameters,
      clean: scored.clean, sets: scored.sets, stages: stages, attackedAdaptively: false,
      stealing: try stolen(from: victim, test: outputs.sample.clean))
  }

  /// With the stealing objective, what a student trained on a configuration's answers to the
  /// queries learns, measured on `test`; nil for the other objectives.
  /// - Parameters:
  ///   - victim: The configuration as a pipeline.
  ///   - test: Labelled clean images.
  /// - Returns: The student's figures.
  /// - Throws: `TuningError` when the stealing objective has no queries; errors from the
  ///   stages, the classifier and training.
  func stolen(from victim: Pipeline, test: ImageBatch) throws -> TuningResult.Stealing? {
    guard case .stealing = space.objective else { return nil }
    guard let stealing else {
      throw TuningError(message: "the stealing objective needs its attack (Tuner.stealing)")
    }
    let report = try stealing.attack.run(victim: victim, queries: stealing.queries, test: test)
      .report
    func counts(_ share: StealingReport.Share) -> TuningResult.Counts {
      TuningResult.Counts(total: share.total, correct: share.count, abstentions: 0)
    }
    return TuningResult.Stealing(
      queries: report.queries, answered: report.answered,
      studentAccuracy: counts(report.studentAccuracy), agreement: counts(report.agreement))
  }

  /// A configuration as a pipeline, with the detectors.
  func pipeline(
    preprocessors: [any Preprocessor], postprocessors: [any Postprocessor]
  ) -> Pipeline {
    Pipeline(
      classifier: classifier, preprocessors: preprocessors, postprocessors: postprocessors,
      detectors: detectors, classifierName: classifierName)
  }

  /// The sample with what the detectors flag in each of its sets, and the seconds per image
  /// each detector took on the evaluation part (unchanged without detectors).
  /// - Parameter sample: A drawn sample.
  /// - Returns: The sample, flagged.
  /// - Throws: The detectors' and the classifier's errors.
  func flagging(_ sample: TuningSample) throws -> TuningSample {
    guard !detectors.isEmpty else { return sample }
    let clock = ContinuousClock()
    var seconds = detectors.map { _ in 0.0 }
    func flags(_ batch: ImageBatch) throws -> [Bool] {
      var result: [Bool] = []
      for first in stride(from: 0, to: batch.count, by: 1_000) {
        let part = batch.selecting(first..<min(first + 1_000, batch.count))
        var lists: [[Bool]] = []
        for (index, detector) in detectors.enumerated() {
          let start = clock.now
          lists.append(try detector.flags(part, classify: classifier.probabilities))
          seconds[index] += (clock.now - start).inSeconds
        }
        result += Pipeline.union(lists, count: part.count)
      }
      return result
    }
    var flagged = sample
    flagged.flaggedEvaluation =
      try [flags(sample.clean)] + sample.adversarialSets.map { try flags($0.evaluation) }
    let evaluated = flagged.flaggedEvaluation.reduce(0) { $0 + $1.count }
    flagged.detectorSeconds = seconds.map { $0 / Double(max(evaluated, 1)) }
    flagged.flaggedFit = [try flags(sample.fitClean), try flags(sample.fitAdversarial)]
    return flagged
  }

  /// Every evaluation image's outcome under a configuration's postprocessors: the clean set's
  /// and each adversarial set's of the sample, abstaining on the images a detector flags.
  private func outcomes(
    of postprocessors: [any Postprocessor], outputs: inout PreprocessingOutputs
  ) throws -> (clean: ImageOutcomes, sets: [ScoredSet]) {
    let passes = Self.passes(of: postprocessors)
    let sample = outputs.sample
    var scored: [ImageOutcomes] = []
    let labelSets = [sample.clean.labels] + sample.adversarialSets.map(\.evaluation.labels)
    for (set, labels) in labelSets.enumerated() {
      let tables = try (0..<passes).map { try outputs.probabilities(pass: $0).evaluation[set] }
      let table = try Self.apply(postprocessors, to: tables)
      scored.append(ImageOutcomes(sample.abstaining(table, evaluationSet: set), labels: labels))
    }
    let sets = zip(sample.adversarialSets, scored.dropFirst()).map { part, outcomes in
      ScoredSet(
        name: part.name, attacker: part.attacker, isAdaptive: false, isPaired: part.isPaired,
        outcomes: outcomes)
    }
    return (scored[0], sets)
  }

  /// Scores a configuration against the attacks made against it (the pipeline-targeted sets):
  /// each attack runs on the sample's clean evaluation images (the first `limit` of them, if
  /// the attack has one) through the whole configuration, its postprocessors fitted as in the
  /// grid, and the result joins the sets the configuration was first scored on.
  /// - Parameters:
  ///   - result: The configuration's result on the sets made once.
  ///   - candidate: The configuration.
  ///   - sample: The sample.
  ///   - attacks: The pipeline-targeted sets.
  /// - Returns: The result with every set and the worst case over all of them.
  /// - Throws: Errors from the stages, the classifier and the attacks.
  func attackingAdaptively(
    _ result: TuningResult, candidate: TuningCandidate, sample: TuningSample,
    attacks: [AdaptiveAttack]
  ) throws -> TuningResult {
    var outputs = PreprocessingOutputs(
      stages: candidate.preprocessors.compactMap(\.preprocessor), classifier: classifier,
      sample: sample)
    let postprocessors = try fitted(candidate, outputs: &outputs)
    let scored = try outcomes(of: postprocessors, outputs: &outputs)
    let pipeline = self.pipeline(preprocessors: outputs.stages, postprocessors: postprocessors)
    var sets = scored.sets
    for attack in attacks {
      let adversarial = try attack.perturb(sample.clean, against: pipeline)
      let table = Probabilities(
        rows: adversarial.count, columns: classifier.classCount,
        values: adversarial.count == 0 ? [] : try pipeline.probabilities(adversarial))
      sets.append(
        ScoredSet(
          name: attack.name, attacker: attack.settings.summary, isAdaptive: true,
          isPaired: true,
          outcomes: ImageOutcomes(table, labels: adversarial.labels)))
    }
    return self.result(
      index: result.index, phase: result.phase, key: result.key,
      parameters: result.parameters, clean: scored.clean, sets: sets, stages: result.stages,
      attackedAdaptively: true, stealing: result.stealing)
  }

  /// A result from every evaluation image's outcome: each set's counts, the worst case over the
  /// paired sets (over the images they all cover), the counts the objective ranks by and its
  /// bootstrap interval (for the stealing objective, the Wilson interval of the student's
  /// measure, turned into one for 1 − it).
  private func result(
    index: Int, phase: String, key: String, parameters: [String: Double], clean: ImageOutcomes,
    sets: [ScoredSet], stages: [StageTiming], attackedAdaptively: Bool,
    stealing: TuningResult.Stealing?
  ) -> TuningResult {
    let paired = sets.filter(\.isPaired).map(\.outcomes)
    let worstCase = paired.count > 1 ? ImageOutcomes.worstCase(paired) : nil
    let ranked: ImageOutcomes
    if space.objective.usesWorstCase {
      let candidates =
        (worstCase.map { [$0] } ?? paired) + sets.filter { !$0.isPaired }.map(\.outcomes)
      ranked = candidates.min { $0.counts.accuracy < $1.counts.accuracy } ?? sets[0].outcomes
    } else {
      ranked = sets[0].outcomes
    }
    let objective = space.objective
    var interval = ConfidenceInterval.bootstrap(
      clean: clean.correct, adversarial: ranked.correct
    ) { objective.value(clean: $0, adversarial: $1) }
    if let stolen = TuningResult.stolen(stealing, objective: objective) {
      let share = ConfidenceInterval.wilson(successes: stolen.count, trials: stolen.total)
      interval = ConfidenceInterval(
        lower: 1 - share.upper, upper: 1 - share.lower, level: share.level)
    }
    return TuningResult(
      index: index, phase: phase, key: key, parameters: parameters, clean: clean.counts,
      adversarial: ranked.counts,
      adversarialSets: sets.map {
        TuningResult.SetCounts(
          name: $0.name, attacker: $0.attacker, isAdaptive: $0.isAdaptive,
          counts: $0.outcomes.counts)
      }, worstCase: worstCase?.counts, interval: interval,
      attackedAdaptively: attackedAdaptively, stages: stages, full: nil, stealing: stealing)
  }

  /// The configuration's postprocessors, a fitted one fitted on the sample's fit part.
  func fitted(
    _ candidate: TuningCandidate, outputs: inout PreprocessingOutputs
  ) throws -> [any Postprocessor] {
    var postprocessors = candidate.postprocessors.compactMap(\.postprocessor)
    guard let position = postprocessors.firstIndex(where: { $0 is any FittedPostprocessor }),
      var fitted = postprocessors[position] as? any FittedPostprocessor
    else { return postprocessors }
    let sample = outputs.sample
    let labels = sample.fitClean.labels + sample.fitAdversarial.labels
    if labels.isEmpty {
      guard fitted.isFitted else {
        throw TuningError(
          message: "\(Pipeline.name(of: fitted)) must be fitted, but tune.fitFraction keeps no "
            + "images for fitting; set it above 0")
      }
      return postprocessors
    }
    let before = Array(postprocessors[..<position])
    let passes = try (0..<fitted.passesPerImage).map { pass -> Probabilities in
      let tables = try outputs.probabilities(pass: pass).fit
      let joined = Probabilities(
        rows: tables[0].rows + tables[1].rows, columns: tables[0].columns,
        values: tables[0].values + tables[1].values)
      return try before.reduce(joined) { try $1.process($0) }
    }
    try fitted.fit(passes: passes, labels: labels)
    postprocessors[position] = fitted
    return postprocessors
  }

  /// The classifier passes a list of postprocessors needs: its fitted one's, else 1.
  static func passes(of postprocessors: [any Postprocessor]) -> Int {
    postprocessors.compactMap { ($0 as? any FittedPostprocessor)?.passesPerImage }.first ?? 1
  }

  /// Applies postprocessors to a pass's tables: the ones before a fitted postprocessor to every
  /// pass, the fitted one to all passes together, the rest to its output.
  static func apply(
    _ postprocessors: [any Postprocessor], to passes: [Probabilities]
  ) throws -> Probabilities {
    guard let position = postprocessors.firstIndex(where: { $0 is any FittedPostprocessor }),
      let fitted = postprocessors[position] as? any FittedPostprocessor
    else {
      return try postprocessors.reduce(passes[0]) { try $1.process($0) }
    }
    let before = postprocessors[..<position]
    let prepared = try passes.map { pass in try before.reduce(pass) { try $1.process($0) } }
    let combined = try fitted.process(passes: prepared)
    return try postprocessors[(position + 1)...].reduce(combined) { try $1.process($0) }
  }

}
