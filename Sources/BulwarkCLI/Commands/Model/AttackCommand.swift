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
      """,
    arguments: [
      .option("model", valueName: "FILE", help: "The classifier (.safetensors or .onnx)."),
      .option(
        "against", valueName: "PIPELINE", help: "Attack this pipeline file's whole pipeline."),
      .option(
        "data", valueName: "SOURCE",
        help: "The clean labelled images (default with --against: its data.clean)."),
      .option("labels", valueName: "FILE", help: "IDX labels file for an IDX images SOURCE."),
      .option(
        "method", valueName: "NAME", help: AttackSettings.methods.joined(separator: ", ") + ".",
        isRequired: true),
      .option("eps", valueName: "E", help: "Radius of the perturbation ball.", isRequired: true),
      .option("norm", valueName: "inf|2", help: "The ball's norm.", defaultValue: "inf"),
      .option("steps", valueName: "K", help: "Steps (default 40; APGD and auto 100)."),
      .option("step-size", valueName: "A", help: "Step size (pgd, bim; default: 2.5 eps / K)."),
      .option("restarts", valueName: "R", help: "APGD restarts.", defaultValue: "1"),
      .option(
        "target-classes", valueName: "N", help: "Target classes of apgd-t and auto.",
        defaultValue: "9"),
      .option(
        "queries", valueName: "Q", help: "Query budget per image (square, hopskipjump, auto).",
        defaultValue: "5000"),
      .flag(
        "stop-at-misclassification",
        help: "pgd, bim: stop each image at its first success (minimum confidence)."),
      .option(
        "eot", valueName: "K", help: "With --against: random draws averaged per gradient.",
        defaultValue: "1"),
      .option("target", valueName: "CLASS", help: "Targeted attack toward this class."),
      .option("seed", valueName: "S", help: "Seed of every random draw.", defaultValue: "0"),
      .option("limit", valueName: "N", help: "Attack the first N images only."),
      .option("threads", valueName: "N", help: "Threads (default: all cores)."),
      .option(
        "out", valueName: "ADV.npz", help: "Where to write the adversarial set.",
        isRequired: true),
      .allowExternal,
      .json,
    ])

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

  /// The command line's flag for each attack setting's key.
  static let flags = [
    "method": "--method", "eps": "--eps", "norm": "--norm", "steps": "--steps",
    "stepSize": "--step-size", "restarts": "--restarts", "targetClasses": "--target-classes",
    "queries": "--queries", "stopAtMisclassification": "--stop-at-misclassification",
    "eot": "--eot", "limit": "--limit",
  ]

  init(arguments: ParsedArguments) throws(UsageError) {
    model = arguments.string("model")
    against = arguments.string("against")
    guard (model == nil) != (against == nil) else {
      throw UsageError(
        "give one of --model FILE (the classifier) or --against PIPELINE (the whole pipeline)",
        commandPath: arguments.commandPath)
    }
    data = arguments.string("data")
    if model != nil, data == nil {
      throw UsageError("--model needs --data SOURCE", commandPath: arguments.commandPath)
    }
    labels = arguments.string("labels")
    let method = try arguments.required("method")
    let eps = try arguments.double("eps", in: 0...1_000) ?? 0
    let norm: AttackNorm =
      try arguments.choice("norm", from: ["inf", "2"]) == "2" ? .l2 : .infinity
    target = try arguments.integer("target", in: 0...Int.max)
    limit = try arguments.integer("limit", in: 1...Int.max)
    threads = try arguments.integer("threads", in: 1...1_024)
    out = try arguments.required("out")
    allowExternal = arguments.flag("allow-external")
    json = arguments.flag("json")
    let steps = try arguments.integer("steps", in: 1...1_000_000)
    let stepSize = try arguments.double("step-size", in: 0...1_000).map(Float.init)
    let seed = try arguments.seed() ?? 0
    let restarts = try arguments.integer("restarts", in: 1...1_000) ?? 1
    let targetClasses = try arguments.integer("target-classes", in: 1...1_000) ?? 9
    let queries = try arguments.integer("queries", in: 1...10_000_000) ?? 5_000
    let eot = try arguments.integer("eot", in: 1...10_000) ?? 1
    do throws(AttackSettings.Problem) {
      settings = try AttackSettings(
        method: method, epsilon: Float(eps), norm: norm, steps: steps, stepSize: stepSize,
        seed: seed, stopAtMisclassification: arguments.flag("stop-at-misclassification"),
        restarts: restarts, targetClasses: targetClasses, queries: queries,
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
    var secondsPerExample: Double
    var out: String
  }

  func run(console: Console) throws {
    let options = ComputeOptions(threads: threads)
    let classifier: any Classifier
    var clean: ImageBatch
    if let against {
      let description = try PipelineDescription(contentsOf: URL(fileURLWithPath: against))
      try description.requireExternalAllowed(allowExternal)
      try description.requireFitted()
      let pipeline = try Pipeline(description, options: options)
      classifier = ExpectationOverTransformation(pipeline, samples: settings.eot)
      clean = try data.map { try DataSource($0, labels: labels).load() } ?? description.clean.load()
    } else {
      classifier = try loadClassifier(
        contentsOf: URL(fileURLWithPath: model ?? ""), options: options)
      clean = try DataSource(data ?? "", labels: labels).load()
    }
    if let limit { clean = clean.prefix(limit) }
    if let target, target >= classifier.classCount {
      throw UsageError(
        "--target: a class below \(classifier.classCount), got \(target)", commandPath: "attack")
    }
    let method = settings.method
    let run = try AttackRun(
      settings.attack, on: clean, classifier: classifier,
      targets: target.map { Array(repeating: $0, count: clean.count) }
    ) { done, total in
      console.progress("\(method): \(done)/\(total) images")
    }
    console.endProgress()
    try run.adversarial.npzArchive.write(to: URL(fileURLWithPath: out))
    let report = Report(
      attacker: settings.summary, method: method, epsilon: Double(settings.epsilon),
      norm: settings.norm.rawValue, target: target, count: clean.count,
      cleanAccuracy: run.cleanAccuracy, adversarialAccuracy: run.adversarialAccuracy,
      metrics: run.metrics, queries: run.queries?.reduce(0, +),
      secondsPerExample: clean.count == 0 ? 0 : run.seconds / Double(clean.count), out: out)
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
    console.print(
      "Time per example:             \(format(1_000 * report.secondsPerExample, digits: 3)) ms")
    console.print("Wrote \(out)")
  }
}
