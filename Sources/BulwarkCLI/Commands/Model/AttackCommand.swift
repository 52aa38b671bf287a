import BulwarkCore
import BulwarkData
import BulwarkModel
import Foundation

/// `bulwark attack`: adversarial examples against a frozen classifier, with MindSpore Armour's
/// attack metrics.
struct AttackCommand: ParsableCommand {
  static let methods = ["fgsm", "pgd", "bim"]

  static let configuration = CommandConfiguration(
    name: "attack",
    abstract: "Generate adversarial examples (FGSM, PGD, BIM) and report the attack's metrics.",
    discussion: """
      fgsm: one step of size eps along the sign of the loss gradient (Goodfellow et al. 2015). \
      pgd: --steps steps of --step-size, each projected onto the eps ball (L-infinity or L2) \
      and clipped to [0, 1], from a seeded random start in the ball (Madry et al. 2018). bim: \
      pgd without the random start (Kurakin et al. 2017). With --target, the attack pushes \
      every image toward that class. The output .npz holds x (adversarial images) and y (true \
      labels). Metrics follow MindSpore Armour's AttackEvaluate; distances and SSIM are over \
      successful examples.
      """,
    arguments: [
      .option(
        "model", valueName: "FILE", help: "The classifier (.safetensors or .onnx).",
        isRequired: true),
      .option("data", valueName: "SOURCE", help: "The clean labelled images.", isRequired: true),
      .option("labels", valueName: "FILE", help: "IDX labels file for an IDX images SOURCE."),
      .option("method", valueName: "NAME", help: "fgsm, pgd or bim.", isRequired: true),
      .option("eps", valueName: "E", help: "Radius of the perturbation ball.", isRequired: true),
      .option("norm", valueName: "inf|2", help: "The ball's norm (pgd, bim).", defaultValue: "inf"),
      .option("steps", valueName: "K", help: "Steps (pgd, bim).", defaultValue: "40"),
      .option("step-size", valueName: "A", help: "Step size (pgd, bim; default: 2.5 eps / K)."),
      .option("target", valueName: "CLASS", help: "Targeted attack toward this class."),
      .option("seed", valueName: "S", help: "Seed of pgd's random start.", defaultValue: "0"),
      .option("limit", valueName: "N", help: "Attack the first N images only."),
      .option("threads", valueName: "N", help: "Threads (default: all cores)."),
      .option(
        "out", valueName: "ADV.npz", help: "Where to write the adversarial set.",
        isRequired: true),
      .json,
    ])

  var model: String
  var data: String
  var labels: String?
  var method: String
  var eps: Double
  var norm: AttackNorm
  var steps: Int
  var stepSize: Double?
  var target: Int?
  var seed: UInt64
  var limit: Int?
  var threads: Int?
  var out: String
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    model = try arguments.required("model")
    data = try arguments.required("data")
    labels = arguments.string("labels")
    method = try arguments.choice("method", from: Self.methods) ?? "fgsm"
    eps = try arguments.double("eps", in: 0...1_000) ?? 0
    norm = try arguments.choice("norm", from: ["inf", "2"]) == "2" ? .l2 : .infinity
    steps = try arguments.integer("steps", in: 1...100_000) ?? 40
    stepSize = try arguments.double("step-size", in: 0...1_000)
    target = try arguments.integer("target", in: 0...Int.max)
    seed = try arguments.seed() ?? 0
    limit = try arguments.integer("limit", in: 1...Int.max)
    threads = try arguments.integer("threads", in: 1...1_024)
    out = try arguments.required("out")
    json = arguments.flag("json")
    if method == "fgsm" && norm == .l2 {
      throw UsageError(
        "fgsm is an L-infinity attack; use pgd or bim with --norm 2",
        commandPath: arguments.commandPath)
    }
  }

  /// The attack's outcome, as `--json` prints it.
  struct Report: Encodable {
    var method: String
    var epsilon: Double
    var norm: String
    var steps: Int?
    var stepSize: Double?
    var target: Int?
    var count: Int
    var cleanAccuracy: Double
    var adversarialAccuracy: Double
    var metrics: AttackEvaluation
    var secondsPerExample: Double
    var out: String
  }

  func run(console: Console) throws {
    let network = try loadClassifier(
      contentsOf: URL(fileURLWithPath: model), options: ComputeOptions(threads: threads))
    var clean = try DataSource(data, labels: labels).load()
    if let limit { clean = clean.prefix(limit) }
    let classes = network.classCount
    if let target, target >= classes {
      throw ModelError(field: "--target", expected: "a class below \(classes)", found: "\(target)")
    }
    let attack: any Attack
    let step = Float(stepSize ?? 2.5 * eps / Double(steps))
    switch method {
    case "fgsm": attack = FGSM(epsilon: Float(eps))
    case "bim": attack = PGD.bim(norm: norm, epsilon: Float(eps), stepSize: step, steps: steps)
    default:
      attack = PGD(
        norm: norm, epsilon: Float(eps), stepSize: step, steps: steps, randomStart: true,
        seed: seed)
    }
    let clock = ContinuousClock()
    let start = clock.now
    // Work in slices so that progress can be shown; the attacks treat images independently.
    let slice = 1_000
    var adversarialPixels: [Float] = []
    adversarialPixels.reserveCapacity(clean.pixels.count)
    for first in stride(from: 0, to: clean.count, by: slice) {
      console.progress("\(method): \(first)/\(clean.count) images")
      let part = clean.selecting(first..<min(first + slice, clean.count))
      let targets = target.map { Array(repeating: $0, count: part.count) }
      adversarialPixels += try attack.perturb(part, classifier: network, targets: targets).pixels
    }
    console.endProgress()
    let seconds = (clock.now - start).inSeconds
    let adversarial = ImageBatch(
      shape: clean.shape, pixels: adversarialPixels, labels: clean.labels,
      classNames: clean.classNames)
    try adversarial.npzArchive.write(to: URL(fileURLWithPath: out))
    let probabilities = try network.probabilities(adversarial)
    let metrics = AttackEvaluation(
      clean: clean, adversarial: adversarial, probabilities: probabilities,
      targets: target.map { Array(repeating: $0, count: clean.count) })
    let report = Report(
      method: method, epsilon: eps, norm: norm == .l2 ? "2" : "inf",
      steps: method == "fgsm" ? nil : steps,
      stepSize: method == "fgsm" ? nil : Double(step), target: target, count: clean.count,
      cleanAccuracy: try accuracy(of: network, on: clean),
      adversarialAccuracy: try accuracy(of: network, on: adversarial), metrics: metrics,
      secondsPerExample: clean.count == 0 ? 0 : seconds / Double(clean.count), out: out)
    if json {
      try console.printJSON(report)
      return
    }
    func percent(_ value: Double?) -> String {
      value.map { format(100 * $0, digits: 2) + "%" } ?? "n/a (no successful example)"
    }
    func number(_ value: Double?) -> String {
      value.map { format($0, digits: 4) } ?? "n/a (no successful example)"
    }
    var settings = "\(method), eps \(eps)"
    if method != "fgsm" {
      settings += ", norm \(report.norm), \(steps) steps of \(Double(step))"
    }
    if let target { settings += ", target class \(target)" }
    console.print("Attack:                       \(settings)")
    console.print("Images:                       \(clean.count)")
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
    console.print(
      "Time per example:             \(format(1_000 * report.secondsPerExample, digits: 3)) ms")
    console.print("Wrote \(out)")
  }
}
