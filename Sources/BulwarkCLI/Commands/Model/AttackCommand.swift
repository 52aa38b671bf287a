import BulwarkCore
import BulwarkData
import BulwarkModel
import BulwarkPipeline
import Foundation

/// `bulwark attack`: adversarial examples against a frozen classifier or a whole defended
/// pipeline, with MindSpore Armour's attack metrics.
struct AttackCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "attack",
    abstract: "Generate adversarial examples against a classifier or a defended pipeline.",
    discussion: """
      Methods: fgsm (one step of eps along the gradient's sign), pgd (--steps steps of \
      --step-size from a seeded random start, projected onto the eps ball), bim (pgd without \
      the random start), apgd-ce and apgd-dlr (Croce and Hein's step-size-free PGD with \
      momentum and --restarts), apgd-t (targeted DLR over --target-classes top classes), square \
      (score-based, --queries per image), hopskipjump (decision-based, labels only, --queries) \
      and auto (APGD-CE, APGD-T, Square: each image's worst case). --model attacks the \
      classifier alone (an oblivious attacker for any defense); --against attacks the whole \
      pipeline of a pipeline file, through every stage (BPDA for stages without a gradient, \
      --eot draws of randomised ones), an adaptive attacker. The output .npz holds x \
      (adversarial images) and y (true labels). Metrics follow MindSpore Armour's \
      AttackEvaluate; distances and SSIM are over successful examples; an abstention counts as \
      a success.

      On a cluster, --shard I/N attacks shard I of N of the images (its share of the slices of \
      1,000 that the attack draws its random numbers by) and writes ADV.part-I-of-N.npz beside \
      ADV.npz, with the figures of its images; --shard auto reads the shard from a Slurm job \
      array or a Kubernetes Indexed Job (with --shards N). The same command with --merge joins \
      the parts into ADV.npz, the file one process writes, byte for byte, and prints the \
      figures of the whole set.
      """,
    arguments: [
      modelOption.definition, againstOption.definition, dataOption.definition,
      ModelOptions.labels.definition, methodOption.definition, epsOption.definition,
      normOption.definition, stepsOption.definition, stepSizeOption.definition,
      restartsOption.definition, targetClassesOption.definition, queriesOption.definition,
      stopFlag.definition, eotOption.definition, targetOption.definition, seedOption.definition,
      limitOption.definition, ModelOptions.threads.definition, outOption.definition,
    ] + ShardArguments.definitions + [ArgumentDefinition.allowExternal, .json])

  static let modelOption = Option<String>(
    "model", valueName: "FILE", help: "The classifier (.safetensors or .onnx).")
  static let againstOption = Option<String>(
    "against", valueName: "PIPELINE", help: "Attack this pipeline file's whole pipeline.")
  static let dataOption = Option<String>(
    "data", valueName: "SOURCE",
    help: "The clean labelled images (default with --against: its data.clean).")
  static let methodOption = Option<String>(
    "method", valueName: "NAME", help: AttackSettings.methods.joined(separator: ", ") + ".",
    isRequired: true)
  static let epsOption = Option(
    "eps", valueName: "E", help: "Radius of the perturbation ball.", isRequired: true,
    in: 0.0...1_000)
  static let normOption = Option<String>(
    "norm", valueName: "inf|2", help: "The ball's norm.", default: "inf", choices: ["inf", "2"])
  static let stepsOption = Option(
    "steps", valueName: "K", help: "Steps (default 40; APGD and auto 100).", in: 1...1_000_000)
  static let stepSizeOption = Option(
    "step-size", valueName: "A", help: "Step size (pgd, bim; default: 2.5 eps / K).",
    in: 0.0...1_000)
  static let restartsOption = Option(
    "restarts", valueName: "R", help: "APGD restarts.", default: 1, in: 1...1_000)
  static let targetClassesOption = Option(
    "target-classes", valueName: "N", help: "Target classes of apgd-t and auto.", default: 9,
    in: 1...1_000)
  static let queriesOption = Option(
    "queries", valueName: "Q", help: "Query budget per image (square, hopskipjump, auto).",
    default: 5_000, in: 1...10_000_000)
  static let stopFlag = Flag(
    "stop-at-misclassification",
    help: "pgd, bim: stop each image at its first success (minimum confidence).")
  static let eotOption = Option(
    "eot", valueName: "K", help: "With --against: random draws averaged per gradient.",
    default: 1, in: 1...10_000)
  static let targetOption = Option(
    "target", valueName: "CLASS", help: "Targeted attack toward this class.", in: 0...Int.max)
  static let seedOption = Option<UInt64>(
    "seed", valueName: "S", help: "Seed of every random draw.", default: 0)
  static let limitOption = Option(
    "limit", valueName: "N", help: "Attack the first N images only.", in: 1...Int.max)
  static let outOption = Option<String>(
    "out", valueName: "ADV.npz", help: "Where to write the adversarial set.", isRequired: true)

  var model: String?
  var against: String?
  var data: String?
  var labels: String?
  var settings: AttackSettings
  var target: Int?
  var limit: Int?
  var threads: Int?
  var out: String
  var allowExternal: Bool
  var json: Bool
  var sharding: ShardArguments

  /// The command line's flag for each attack setting's key.
  static let flags = [
    "method": "--method", "eps": "--eps", "norm": "--norm", "steps": "--steps",
    "stepSize": "--step-size", "restarts": "--restarts", "targetClasses": "--target-classes",
    "queries": "--queries", "stopAtMisclassification": "--stop-at-misclassification",
    "eot": "--eot", "limit": "--limit",
  ]

  init(arguments: ParsedArguments) throws(UsageError) {
    model = try arguments.value(Self.modelOption)
    against = try arguments.value(Self.againstOption)
    guard (model == nil) != (against == nil) else {
      throw UsageError(
        "give one of --model FILE (the classifier) or --against PIPELINE (the whole pipeline)",
        commandPath: arguments.commandPath)
    }
    data = try arguments.value(Self.dataOption)
    if model != nil, data == nil {
      throw UsageError("--model needs --data SOURCE", commandPath: arguments.commandPath)
    }
    labels = try arguments.value(ModelOptions.labels)
    let method = try arguments.required(Self.methodOption)
    let eps = try arguments.required(Self.epsOption)
    let norm: AttackNorm = try arguments.required(Self.normOption) == "2" ? .l2 : .infinity
    target = try arguments.value(Self.targetOption)
    limit = try arguments.value(Self.limitOption)
    threads = try arguments.value(ModelOptions.threads)
    out = try arguments.required(Self.outOption)
    allowExternal = arguments[.allowExternal]
    json = arguments[.json]
    sharding = try ShardArguments(arguments: arguments)
    let steps = try arguments.value(Self.stepsOption)
    let stepSize = try arguments.value(Self.stepSizeOption).map(Float.init)
    let seed = try arguments.required(Self.seedOption)
    let restarts = try arguments.required(Self.restartsOption)
    let targetClasses = try arguments.required(Self.targetClassesOption)
    let queries = try arguments.required(Self.queriesOption)
    let eot = try arguments.required(Self.eotOption)
    do throws(AttackSettings.Problem) {
      settings = try AttackSettings(
        method: method, epsilon: Float(eps), norm: norm, steps: steps, stepSize: stepSize,
        seed: seed, stopAtMisclassification: arguments[Self.stopFlag], restarts: restarts,
        targetClasses: targetClasses, queries: queries,
        against: against == nil ? .classifier : .pipeline, eot: eot)
    } catch {
      throw UsageError(
        "\(Self.flags[error.key] ?? error.key): \(error.message)",
        commandPath: arguments.commandPath)
    }
  }

  /// The attack's outcome, as `--json` prints it.
  struct Report: Encodable {
    var attacker: String
    var method: String
    var epsilon: Double
    var norm: String
    var target: Int?
    var count: Int
    var cleanAccuracy: Double
    var adversarialAccuracy: Double
    var metrics: AttackEvaluation
    var queries: Int?
    /// Nil for a merge: the shards made the images.
    var secondsPerExample: Double?
    var out: String
    /// The shard (`2/4`) whose images these are, for a shard's part.
    var shard: String?
    /// The positions of the shard's images in the set.
    var images: [Int]?
  }

  func run(console: Console) throws {
    let whole = URL(fileURLWithPath: out)
    let written = sharding.shard.map { ShardedSet.part(of: whole, for: $0) } ?? whole
    try FileAccess.checkWritable(written)
    let options = ComputeOptions(threads: threads)
    let classifier: any Classifier
    var clean: ImageBatch
    if let against {
      let description = try PipelineDescription(contentsOf: URL(fileURLWithPath: against))
      try description.requireExternalAllowed(allowExternal)
      try description.requireFitted()
      let pipeline = try Pipeline(description, options: options)
      classifier = ExpectationOverTransformation(pipeline, samples: settings.eot)
      clean = try matchingModelClasses(
        data.map { try DataSource($0, labels: labels).load() } ?? description.clean.load(),
        from: data ?? "data.clean of \(against)", model: description.model)
    } else {
      let url = URL(fileURLWithPath: model ?? "")
      classifier = try loadClassifier(contentsOf: url, options: options)
      clean = try matchingModelClasses(
        DataSource(data ?? "", labels: labels).load(), from: data ?? "", model: url)
    }
    try classifier.check(clean, from: data ?? "data.clean of \(against ?? "")")
    if let limit { clean = clean.prefix(limit) }
    if let target, target >= classifier.classCount {
      throw UsageError(
        "--target: a class below \(classifier.classCount), got \(target)", commandPath: "attack")
    }
    let method = settings.method
    let targets = target.map { Array(repeating: $0, count: clean.count) }
    let set = ShardedSet(file: whole, count: clean.count)
    let run: AttackRun
    var images = 0..<clean.count
    if sharding.merge {
      guard let shards = try set.shardCount() else {
        throw ShardError(
          "nothing to merge: no \(whole.deletingPathExtension().lastPathComponent)"
            + ".part-I-of-N.npz beside \(out); run the shards first with --shard I/N")
      }
      run = try AttackRun(
        adversarial: try set.joined(shards: shards, like: clean), clean: clean,
        classifier: classifier, targets: targets, seconds: 0, queries: nil)
    } else {
      if let shard = sharding.shard { images = set.images(for: shard) }
      run = try AttackRun(
        settings.attack, on: clean.selecting(images), classifier: classifier,
        targets: targets.map { Array($0[images]) }
      ) { done, total in
        console.progress("\(method): \(done)/\(total) images")
      }
    }
    console.endProgress()
    try run.adversarial.npzArchive.write(to: written)
    // The budget as written (0.1), not the float's binary expansion (0.10000000149011612).
    let epsilon = Double(settings.epsilon.description) ?? Double(settings.epsilon)
    let report = Report(
      attacker: settings.summary, method: method, epsilon: epsilon,
      norm: settings.norm.rawValue, target: target, count: images.count,
      cleanAccuracy: run.cleanAccuracy, adversarialAccuracy: run.adversarialAccuracy,
      metrics: run.metrics, queries: run.queries?.reduce(0, +),
      secondsPerExample: sharding.merge
        ? nil : images.isEmpty ? 0 : run.seconds / Double(images.count),
      out: written.path, shard: sharding.shard?.description,
      images: sharding.shard.map { _ in [images.lowerBound, images.upperBound] })
    if json {
      try console.printJSON(report)
      return
    }
    print(report, console: console)
  }

  private func print(_ report: Report, console: Console) {
    func percent(_ value: Double?) -> String {
      value.map { format(100 * $0, digits: 2) + "%" } ?? "n/a (no successful example)"
    }
    func number(_ value: Double?) -> String {
      value.map { format($0, digits: 4) } ?? "n/a (no successful example)"
    }
    let metrics = report.metrics
    var attack = report.attacker
    if let target { attack += ", target class \(target)" }
    console.print("Attack:                       \(attack)")
    if let shard = report.shard, let images = report.images {
      console.print("Shard:                        \(shard), images \(images[0])..<\(images[1])")
    }
    console.print("Images:                       \(report.count)")
    console.print("Clean accuracy:               \(percent(report.cleanAccuracy))")
    console.print("Adversarial accuracy:         \(percent(report.adversarialAccuracy))")
    console.print("Misclassification rate:       \(percent(metrics.misclassificationRate))")
    console.print(
      "Avg confidence, adv. class:   \(number(metrics.averageConfidenceAdversarialClass))")
    console.print("Avg confidence, true class:   \(number(metrics.averageConfidenceTrueClass))")
    console.print("Avg L0 distance:              \(number(metrics.averageL0Distance))")
    console.print("Avg L2 distance:              \(number(metrics.averageL2Distance))")
    console.print("Avg L-inf distance:           \(number(metrics.averageLInfinityDistance))")
    console.print("Avg SSIM:                     \(number(metrics.averageSSIM))")
    if let queries = report.queries {
      console.print("Queries:                      \(queries)")
    }
    if let seconds = report.secondsPerExample {
      console.print("Time per example:             \(format(1_000 * seconds, digits: 3)) ms")
    }
    console.print("Wrote \(report.out)")
  }
}
