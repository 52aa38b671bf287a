import BulwarkCore
import BulwarkModel
import BulwarkPipeline
import Foundation

/// `bulwark score FILE`: runs a pipeline on its clean and adversarial sets.
struct ScoreCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "score",
    abstract: "Score a pipeline file on its clean and adversarial sets.",
    discussion: """
      Runs the preprocessors, the classifier and the postprocessors on every image of both \
      sets, and prints the correct counts (Clean, Adv), their accuracies' harmonic mean, the \
      undefended classifier's figures on the same sets, MindSpore Armour's DefenseEvaluate \
      metrics of the defense against it (CAV accuracy change, CRR rectified share, CSR \
      sacrificed share, CCV mean confidence change and COS mean Jensen-Shannon divergence on \
      samples both classify correctly), abstentions (rows a postprocessor zeroed, counted as \
      wrong) and the time per image of each stage. An attack-generated adversarial set is \
      cached in .bulwark-cache beside the file. A distribution classifier, and a detector \
      without a threshold, must be fitted first ('bulwark fit FILE'); scoring refuses images \
      they were fitted on.

      With detectors, the pipeline abstains on every image one of them flags, and each \
      detector's share of flagged images is printed per set with its 95% interval: on the \
      clean set its false-positive rate, on each adversarial set its detection rate, over the \
      whole set and over the images that fool the undefended classifier. Then, per set, the \
      images the pipeline gets wrong without abstaining: what an attacker wants from a \
      pipeline with detectors (attacks made against such a pipeline count an abstention as \
      no success).

      On a cluster, --shard I/N makes shard I of N of every attack-made set missing from the \
      cache (its share of the images, in slices of 1,000, as .part-I-of-N.npz files beside the \
      set's cache file) and stops; --shard auto reads the shard from a Slurm job array or a \
      Kubernetes Indexed Job (with --shards N). Then --merge joins the parts into the set one \
      process makes, byte for byte (naming any shard whose part is missing), and scores.
      """,
    arguments: PipelineRunArguments.definitions + ShardArguments.definitions)

  var options: PipelineRunArguments
  var sharding: ShardArguments

  init(arguments: ParsedArguments) throws(UsageError) {
    options = try PipelineRunArguments(arguments: arguments)
    sharding = try ShardArguments(arguments: arguments)
  }

  func run(console: Console) throws {
    let description = try options.loadDescription()
    try description.requireFitted()
    let pipeline = try Pipeline(description)
    if let shard = sharding.shard {
      let parts = try description.makeParts(for: shard, of: pipeline, limit: options.limit) {
        set, done, total in
        console.progress("attack \(set), shard \(shard): \(done)/\(total) images")
      }
      console.endProgress()
      try report(parts, of: shard, console: console)
      return
    }
    let data = try description.loadData(
      for: pipeline, limit: options.limit, sharing: sharding.merge ? .joining : nil
    ) {
      set, done, total in
      console.progress("attack \(set): \(done)/\(total) images")
    }
    console.endProgress()
    try description.checkNotFitted(on: data)
    let score = try pipeline.score(data) { set, done, total in
      console.progress("\(set): \(done)/\(total) images")
    }
    console.endProgress()
    if options.json {
      try console.printJSON(score)
      return
    }
    Self.print(score, to: console)
  }

  /// Prints the parts a shard made, and how to merge.
  private func report(
    _ parts: [(set: String, images: Range<Int>, made: Bool)], of shard: Shard, console: Console
  ) throws {
    if options.json {
      try console.printJSON(
        ShardSummary(
          shard: shard.description,
          sets: parts.map {
            .init(
              name: $0.set, images: [$0.images.lowerBound, $0.images.upperBound], made: $0.made)
          }))
      return
    }
    if parts.isEmpty {
      console.print("Shard \(shard): no adversarial set is made by an attack; nothing to share")
    }
    for part in parts {
      let images =
        part.images.isEmpty
        ? "no images (the set has fewer slices of 1,000 than there are shards)"
        : "images \(part.images.lowerBound)..<\(part.images.upperBound)"
      console.print(
        "Shard \(shard): \(part.set): \(images), "
          + (part.made ? "made now" : "already made (cached)"))
    }
    console.print(
      "When every shard is done: bulwark score \(options.file) --merge"
        + (options.limit.map { " --limit \($0)" } ?? ""))
  }

  private struct ShardSummary: Encodable {
    struct Part: Encodable {
      var name: String
      var images: [Int]
      var made: Bool
    }
    var shard: String
    var sets: [Part]
  }

  static func print(_ score: PipelineScore, to console: Console) {
    printHeadline(score, to: console)
    let clean = score.clean
    let adversarial = score.adversarial
    let sets = score.adversarialSets
    console.print()
    console.print("Undefended clean: \(clean.undefendedCorrect) / \(clean.total)")
    if sets.count == 1 {
      console.print("Undefended adv: \(adversarial.undefendedCorrect) / \(adversarial.total)")
    } else {
      for set in sets {
        console.print(
          "Undefended adv \(set.name): \(set.score.undefendedCorrect) / \(set.score.total)")
      }
      if let worst = score.worstCase {
        console.print("Undefended worst case: \(worst.undefendedCorrect) / \(worst.total)")
      }
    }
    console.print("Undefended harmonic mean: \(format(score.undefendedHarmonicMean, digits: 4))")
    let abstentions = sets.map { set in
      "\(sets.count == 1 ? "adv" : set.name) \(set.score.abstentions)"
    }
    console.print(
      "Abstentions: clean \(clean.abstentions), " + abstentions.joined(separator: ", "))
    printDetectors(score, to: console)
    console.print()
    console.print("Defense vs undefended   CAV      CRR      CSR      CCV      COS")
    let rows =
      [("clean", clean)] + sets.map { (sets.count == 1 ? "adv" : $0.name, $0.score) }
    for (name, set) in rows {
      let metrics = set.evaluation
      let values = [metrics.cav, metrics.crr, metrics.csr, metrics.ccv, metrics.cos].map {
        value -> String in
        let text = value.map { format($0, digits: 4) } ?? "n/a"
        return text.padding(toLength: 9, withPad: " ", startingAt: 0)
      }
      console.print(
        name.padding(toLength: 24, withPad: " ", startingAt: 0)
          + values.joined().trimmingCharacters(in: .whitespaces))
    }
    console.print()
    console.print("Time per image:")
    for stage in score.stages {
      let label = "  \(stage.kind) \(stage.name)"
      console.print(
        label.padding(toLength: 44, withPad: " ", startingAt: 0)
          + format(stage.secondsPerImage * 1e6, digits: 2) + " us")
    }
  }

  /// Each detector's flagged share of every set, with its interval: false positives on the
  /// clean set, detections on the adversarial sets.
  static func printDetectors(_ score: PipelineScore, to console: Console) {
    func share(_ flagged: Int, _ total: Int, _ rate: Double, _ value: ConfidenceInterval)
      -> String
    {
      "\(flagged) / \(total) = \(format(rate, digits: 4)) "
        + "(\(format(value.lower, digits: 4))-\(format(value.upper, digits: 4)))"
    }
    for detector in score.detectors {
      console.print()
      console.print(
        "Detector \(detector.name) (threshold \(format(detector.threshold, digits: 6)), fitted "
          + "for a false-positive rate of \(format(detector.targetFalsePositiveRate, digits: 4))):"
      )
      let clean = detector.clean
      console.print(
        "  clean, false positives".padding(toLength: 28, withPad: " ", startingAt: 0)
          + share(clean.flagged, clean.total, clean.rate, clean.interval))
      for set in detector.adversarialSets {
        let name = score.adversarialSets.count == 1 ? "adv" : set.set
        console.print(
          "  \(name), detected".padding(toLength: 28, withPad: " ", startingAt: 0)
            + share(set.flagged, set.total, set.rate, set.interval) + "; of those fooling the "
            + "undefended classifier: "
            + share(
              set.flaggedMisclassified, set.misclassified, set.misclassifiedRate,
              set.misclassifiedInterval))
      }
    }
    guard !score.detectors.isEmpty else { return }
    let rows =
      [("clean", score.clean)]
      + score.adversarialSets.map {
        (score.adversarialSets.count == 1 ? "adv" : $0.name, $0.score)
      }
    console.print()
    console.print(
      "Wrong and let through: "
        + rows.map { "\($0.0) \($0.1.total - $0.1.correct - $0.1.abstentions)" }
        .joined(separator: ", "))
  }

  /// The lines `score` and `tune` both print first: the clean count, each adversarial set's
  /// (and the worst case), the harmonic mean and its basis, every 95% interval and each set's
  /// attacker.
  static func printHeadline(_ score: PipelineScore, to console: Console) {
    let clean = score.clean
    let adversarial = score.adversarial
    let sets = score.adversarialSets
    func interval(_ value: ConfidenceInterval) -> String {
      "\(format(value.lower, digits: 4))-\(format(value.upper, digits: 4))"
    }
    console.print("Clean: \(clean.correct) / \(clean.total)")
    if sets.count == 1 {
      console.print("Adv: \(adversarial.correct) / \(adversarial.total)")
      console.print("Harmonic mean: \(format(score.harmonicMean, digits: 4))")
    } else {
      for set in sets {
        console.print("Adv \(set.name): \(set.score.correct) / \(set.score.total)")
      }
      if let worst = score.worstCase {
        console.print("Worst case: \(worst.correct) / \(worst.total)")
      }
      let basis =
        score.worstCase == nil
        ? "the lowest set; the sets are not of the same images" : "clean and worst case"
      console.print("Harmonic mean: \(format(score.harmonicMean, digits: 4)) (\(basis))")
    }
    console.print()
    var intervals = ["clean \(interval(clean.interval))"]
    intervals += sets.map { set in
      "\(sets.count == 1 ? "adv" : set.name) \(interval(set.score.interval))"
    }
    if let worst = score.worstCase { intervals.append("worst case \(interval(worst.interval))") }
    if let harmonic = score.harmonicMeanInterval {
      intervals.append("harmonic mean \(interval(harmonic)) (bootstrap)")
    }
    console.print("95% intervals: " + intervals.joined(separator: ", "))
    for set in sets {
      console.print(
        sets.count == 1 ? "Attacker: \(set.attacker)" : "Attacker \(set.name): \(set.attacker)")
    }
  }
}
