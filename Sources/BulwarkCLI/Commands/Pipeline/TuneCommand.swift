import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import BulwarkPipeline
import Foundation

/// `bulwark tune FILE`: grid search over a pipeline file's `tune` section, then the winner
/// scored on the full sets.
struct TuneCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "tune",
    abstract: "Search a pipeline file's tune section for the best defense settings.",
    discussion: """
      Draws a seeded, stratified sample of the clean and adversarial sets (split into a fit \
      part for fitted postprocessors and an evaluation part; an image's clean and adversarial \
      versions stay in the same part), scores every configuration of the search space on the \
      evaluation part (the classifier runs once per distinct preprocessing; postprocessor \
      grids reuse its probabilities), ranks them by the objective (configurations failing a \
      constraint last; ties by grid order), and scores the best on the full sets. With the \
      objective worst-case-harmonic-mean (the default when data.adversarial lists several \
      sets), the grid is ranked on the sets made once, then the best tune.rerank (default 10) \
      are attacked by every set with against: "pipeline", made against each configuration \
      itself, and ranked first by the worst case over every set. With objective stealing, \
      each configuration is stolen as bulwark steal would (tune.stealing: a student trained on \
      its answers to the first stealing.queries images of stealing.data) and ranked by 1 - the \
      student's accuracy on the clean evaluation images (or its agreement, stealing.measure), \
      those below the minCleanAccuracy it requires last. The file's detectors stay as they \
      are (fit them first with bulwark fit): every configuration abstains on the images they \
      flag, and best.json5 keeps them. Every objective carries a \
      95% bootstrap interval; configurations whose interval overlaps the winner's are marked \
      as ties. With \
      --refine, a finer grid around the best numeric values is searched too and the top 3 are \
      re-scored on the full sets. Every finished configuration is appended to DIR/journal.jsonl, \
      so an interrupted run continues with --resume. DIR receives results.json, results.csv, \
      SVG plots per tuned parameter and best.json5, the winner as a pipeline file for \
      `bulwark score`. A file without a tune section tunes its one configuration.

      On a cluster, --shard I/N scores shard I of N of the grid (a fixed partition that \
      balances cost and keeps the configurations sharing a preprocessing together) into \
      DIR/journal-I-of-N.jsonl; --shard auto reads the shard from a Slurm job array \
      (SLURM_ARRAY_TASK_ID) or a Kubernetes Indexed Job (JOB_COMPLETION_INDEX, with --shards \
      N). The shards share DIR on shared storage and make the missing adversarial sets \
      together. Then --merge checks that every shard finished with the same file, seed, \
      sample and Bulwark version (listing the unfinished configurations by shard otherwise) \
      and does the rest as one process would: refinement, re-ranking, full scores and the \
      same files, equal to an unsharded run's but for timing fields.
      """,
    arguments: [
      fileArgument.definition, sampleOption.definition, seedOption.definition,
      outOption.definition, refineFlag.definition, resumeFlag.definition,
      threadsOption.definition, stopAfterOption.definition,
    ] + ShardArguments.definitions + [ArgumentDefinition.allowExternal, .json])

  static let fileArgument = Positional(
    "FILE", help: "The pipeline file (.json5) with a tune section.")
  static let sampleOption = Option(
    "sample", valueName: "N", help: "Images sampled from each set (default: tune.sample).",
    in: 1...Int.max)
  static let seedOption = Option<UInt64>(
    "seed", valueName: "S", help: "The sample's seed.", default: 0)
  static let outOption = Option<String>(
    "out", valueName: "DIR",
    help: "The run folder (default: runs/<name> beside the pipeline file).")
  static let refineFlag = Flag(
    "refine", help: "Search a finer grid around the best; re-score the top 3 in full.")
  static let resumeFlag = Flag(
    "resume", help: "Continue the journal in DIR (same file, seed and sample).")
  static let threadsOption = Option(
    "threads", valueName: "N", help: "Preprocessings scored at once (default: cores).",
    in: 1...1_024)
  static let stopAfterOption = Option(
    "stop-after", valueName: "N", help: "Stop after N new configurations (to test --resume).",
    in: 0...Int.max)

  var file: String
  var sample: Int?
  var seed: UInt64
  var out: String?
  var refine: Bool
  var resume: Bool
  var threads: Int?
  var stopAfter: Int?
  var allowExternal: Bool
  var json: Bool
  var sharding: ShardArguments

  init(arguments: ParsedArguments) throws(UsageError) {
    file = arguments.value(Self.fileArgument) ?? ""
    sample = try arguments.value(Self.sampleOption)
    seed = try arguments.required(Self.seedOption)
    out = try arguments.value(Self.outOption)
    refine = arguments[Self.refineFlag]
    resume = arguments[Self.resumeFlag]
    threads = try arguments.value(Self.threadsOption)
    stopAfter = try arguments.value(Self.stopAfterOption)
    allowExternal = arguments[.allowExternal]
    json = arguments[.json]
    sharding = try ShardArguments(arguments: arguments)
    if sharding.shard != nil, refine {
      throw UsageError(
        "--refine belongs to the merge (the finer grid surrounds the whole grid's best): give it "
          + "with --merge", commandPath: arguments.commandPath)
    }
  }

  func run(console: Console) throws {
    let session = try TuningSession(contentsOf: URL(fileURLWithPath: file))
    let options = TuningSession.Options(
      sample: sample, seed: seed, refine: refine, resume: resume, stopAfter: stopAfter,
      threads: threads, folder: out.map { URL(fileURLWithPath: $0) },
      allowsExternalPrograms: allowExternal, merging: sharding.merge)
    let folder = options.folder ?? session.defaultFolder
    let command =
      "bulwark tune \(file) --resume" + (seed == 0 ? "" : " --seed \(seed)")
      + (sample.map { " --sample \($0)" } ?? "") + (out.map { " --out \($0)" } ?? "")
      + (sharding.shard.map { " --shard \($0)" } ?? "") + (sharding.merge ? " --merge" : "")
      + (refine ? " --refine" : "") + (allowExternal ? " --allow-external" : "")
    let notice = InterruptionNotice(
      "interrupted; the finished configurations are kept in \(folder.path); continue with "
        + "'\(command)'", console: console)
    let progress: @Sendable (TuningSession.Progress) -> Void = { event in
      switch event {
      case .nothingToResume(let journal):
        console.endProgress()
        console.printError("note: nothing to resume (no \(journal.path)); starting afresh")
      case .attack(let set, let done, let total):
        console.progress("attack \(set): \(done)/\(total) images")
      case .tuning(let phase, let done, let total, let elapsed):
        console.progress(Self.progressLine(phase.rawValue, done, total, elapsed: elapsed))
      }
    }
    if let shard = sharding.shard {
      let clock = ContinuousClock()
      let start = clock.now
      let parts = try session.runShard(shard, options: options, progress: progress)
      console.endProgress()
      _ = consume notice
      try report(
        parts, of: shard, folder: folder, seconds: (clock.now - start).inSeconds, console: console)
      return
    }
    let result = try session.run(options, progress: progress)
    console.endProgress()
    _ = consume notice
    let outcome = result.outcome
    guard let full = outcome.winner.full else {
      throw TuningError(message: "internal: the winner was not scored on the full sets")
    }
    let space = session.space
    if json {
      try console.printJSON(
        Summary(
          winner: outcome.winner.key, objective: space.objective.name, score: full,
          stealing: outcome.winner.fullStealing,
          ties: outcome.ranked.filter(result.report.isTied).map(\.key),
          configurations: outcome.ranked.count, evaluated: outcome.statistics.evaluated,
          classifierPasses: outcome.statistics.classifierPasses,
          folder: result.folder.path, best: result.files.last?.path ?? "",
          seconds: [
            "data": result.timing.data, "tuning": result.timing.tuning,
            "full": result.timing.full,
          ]))
      return
    }
    for line in result.report.table(count: 10) { console.print(line) }
    if outcome.ranked.count > 10 {
      console.print("… \(outcome.ranked.count - 10) more in \(result.folder.path)/results.csv")
    }
    console.print()
    console.print(
      "Configurations: \(outcome.ranked.count) (\(outcome.statistics.evaluated) scored now"
        + (outcome.statistics.attackedAdaptively > 0
          ? ", \(outcome.statistics.attackedAdaptively) attacked adaptively now" : "") + ") on "
        + "\(outcome.sampleImages.evaluation) evaluation images, "
        + "\(outcome.sampleImages.fit) fit images")
    let attacked = outcome.ranked.filter(\.attackedAdaptively)
    if let first = attacked.first {
      let sets = first.adversarialSets.filter(\.isAdaptive).map(\.name)
      let classifiers = space.classifiers.count
      let leaders =
        classifiers > 1
        ? "the best \(attacked.count / classifiers) of each classifier"
        : "the best \(attacked.count)"
      console.print(
        "Worst case: \(leaders) on the sets made once were attacked by "
          + sets.joined(separator: ", ") + " made against each of them; the others' worst "
          + "case covers only the sets made once (an upper bound)")
    }
    let ties = outcome.ranked.filter(result.report.isTied)
    if !ties.isEmpty {
      console.print(
        "Ties: \(ties.count) configurations' 95% intervals overlap the winner's (marked tie)")
    }
    console.print(
      "Classifier passes: \(outcome.statistics.classifierPasses) "
        + "(\(outcome.statistics.imagesClassified) images classified)")
    let timing = result.timing
    console.print(
      "Time: data \(format(timing.data, digits: 1)) s, tuning \(format(timing.tuning, digits: 1)) "
        + "s, full score \(format(timing.full, digits: 1)) s")
    console.print("Winner: \(outcome.winner.key)")
    console.print("Best pipeline: \(result.files.last?.path ?? "")")
    let excluded = outcome.excludedImages
    if excluded.clean + excluded.adversarial > 0 {
      console.print(
        "Full score on \(outcome.fullImages.clean) clean and \(outcome.fullImages.adversarial) "
          + "adversarial images: the full sets without the \(excluded.clean) + "
          + "\(excluded.adversarial) images its fitted postprocessor learnt from")
    }
    console.print()
    ScoreCommand.printHeadline(full, to: console)
    if let stolen = outcome.winner.fullStealing {
      func share(_ counts: TuningResult.Counts) -> String {
        StealCommand.describe(StealingReport.Share(counts.correct, of: counts.total))
      }
      console.print(
        "Stealing student: \(stolen.answered) of \(stolen.queries) queries answered")
      console.print("Student accuracy: " + share(stolen.studentAccuracy))
      console.print(
        "Agreement: " + share(stolen.agreement) + " (clean images the winner answered)")
    }
  }

  /// Prints what a shard did, and how to merge.
  private func report(
    _ parts: [TuningShardOutcome], of shard: Shard, folder: URL, seconds: Double,
    console: Console
  ) throws {
    let configurations = parts.reduce(0) { $0 + $1.configurations }
    let evaluated = parts.reduce(0) { $0 + $1.statistics.evaluated }
    let passes = parts.reduce(0) { $0 + $1.statistics.classifierPasses }
    let cost = parts.reduce(0) { $0 + $1.shareOfCost } / Double(parts.count)
    if json {
      try console.printJSON(
        ShardSummary(
          shard: shard.description, configurations: configurations, evaluated: evaluated,
          shareOfCost: cost, classifierPasses: passes, journals: parts.map(\.journal.path),
          seconds: seconds))
      return
    }
    console.print(
      "Shard \(shard): \(configurations) configurations (\(evaluated) scored now, "
        + "\(configurations - evaluated) from the journal), "
        + "\(format(100 * cost, digits: 1))% of the grid's estimated cost")
    console.print("Classifier passes: \(passes)")
    console.print("Time: \(format(seconds, digits: 1)) s")
    for part in parts { console.print("Journal: \(part.journal.path)") }
    console.print(
      "When every shard is done: bulwark tune \(file) --merge"
        + (seed == 0 ? "" : " --seed \(seed)") + (sample.map { " --sample \($0)" } ?? "")
        + " --out \(folder.path)")
  }

  private struct ShardSummary: Encodable {
    var shard: String
    var configurations: Int
    var evaluated: Int
    var shareOfCost: Double
    var classifierPasses: Int
    var journals: [String]
    var seconds: Double
  }

  private struct Summary: Encodable {
    var winner: String
    var objective: String
    var score: PipelineScore
    /// The stealing objective's student against the winner, on the full clean set.
    var stealing: TuningResult.Stealing?
    var ties: [String]
    var configurations: Int
    var evaluated: Int
    var classifierPasses: Int
    var folder: String
    var best: String
    var seconds: [String: Double]
  }

  /// `grid [#########-----------] 12/54  ETA 0:31`.
  static func progressLine(_ phase: String, _ done: Int, _ total: Int, elapsed: Duration) -> String
  {
    let width = 24
    let filled = total == 0 ? width : width * done / total
    var line =
      "\(phase) [" + String(repeating: "#", count: filled)
      + String(repeating: "-", count: width - filled) + "] \(done)/\(total)"
    if done > 0 && done < total {
      let remaining = Int((elapsed.inSeconds / Double(done) * Double(total - done)).rounded())
      line += "  ETA \(remaining / 60):" + String(format: "%02d", remaining % 60)
    }
    return line
  }

}
