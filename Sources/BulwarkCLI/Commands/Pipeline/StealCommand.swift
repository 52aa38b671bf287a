import BulwarkCore
import BulwarkData
import BulwarkModel
import BulwarkPipeline
import Foundation

/// `bulwark steal FILE --queries N --arch NAME --data SOURCE`: model stealing (CopycatCNN)
/// against the defended pipeline, the threat its output postprocessors are meant to stop.
struct StealCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "steal",
    abstract: "Steal the defended pipeline: train a student on its answers (CopycatCNN) and "
      + "report the student's accuracy and its agreement with the pipeline.",
    discussion: """
      Sends the first N images of --data to the pipeline (their labels are never read), keeps \
      the answers it did not abstain on, and trains a student network of --arch on them with \
      Adam: on the top class of each answer (--variant labels: CopycatCNN, Correia-Silva et \
      al. 2018) or on the returned probabilities, each row divided by its sum (--variant \
      probabilities: ART's CopycatCNN with use_probability). Then measures, on the labelled \
      --test images (default: the pipeline's data.clean), the student's accuracy, the \
      defended pipeline's, and how often the student gives the pipeline's class (out of the \
      test images the pipeline answered), each with its 95% Wilson interval; --limit N \
      measures on the first N test images. Output \
      postprocessors such as reverse sigmoid, rounding and class labels exist to keep this \
      agreement low while the pipeline's own accuracy stays. The same seed gives the same \
      student whatever the thread count.
      """,
    arguments: PipelineRunArguments.definitions + [
      queriesOption.definition, Self.archOption.definition, dataOption.definition,
      variantOption.definition, testOption.definition, epochsOption.definition,
      TrainCommand.batchSizeOption.definition, learningRateOption.definition,
      TrainCommand.seedOption.definition, outOption.definition, ModelOptions.threads.definition,
    ])

  static let queriesOption = Option<Int>(
    "queries", valueName: "N", help: "Images sent to the pipeline (the first N of --data).",
    isRequired: true, in: 1...10_000_000)
  static let archOption = Option<String>(
    "arch", valueName: "NAME", help: "The student: lenet5 (28x28x1) or rgb-cnn (64x64x3).",
    isRequired: true, choices: ModelStealing.studentArchitectures)
  static let dataOption = Option<String>(
    "data", valueName: "SOURCE", help: "The attacker's unlabelled images.", isRequired: true)
  static let variantOption = Option<String>(
    "variant", valueName: "NAME",
    help: "What the student learns: labels (CopycatCNN) or probabilities.", default: "labels",
    choices: ModelStealing.Variant.allCases.map(\.rawValue))
  static let testOption = Option<String>(
    "test", valueName: "SOURCE",
    help: "Labelled images to measure on (default: the pipeline's data.clean).")
  static let epochsOption = Option(
    "epochs", valueName: "E", help: "The student's training epochs.", default: 10,
    in: 1...10_000)
  static let learningRateOption = Option<Double>(
    "learning-rate", valueName: "LR", help: "Adam's step size.", default: 0.001, in: 1e-12...10)
  static let outOption = Option<String>(
    "out", valueName: "FILE", help: "Write the student (.safetensors).")

  var options: PipelineRunArguments
  var queries: Int
  var arch: String
  var data: String
  var variant: ModelStealing.Variant
  var test: String?
  var epochs: Int
  var batchSize: Int
  var learningRate: Double
  var seed: UInt64
  var out: String?
  var threads: Int?

  init(arguments: ParsedArguments) throws(UsageError) {
    options = try PipelineRunArguments(arguments: arguments)
    guard !options.file.isEmpty else {
      throw UsageError("give a pipeline file", commandPath: arguments.commandPath)
    }
    queries = try arguments.required(Self.queriesOption)
    arch = try arguments.required(Self.archOption)
    data = try arguments.required(Self.dataOption)
    variant = ModelStealing.Variant(rawValue: try arguments.required(Self.variantOption)) ?? .labels
    test = try arguments.value(Self.testOption)
    epochs = try arguments.required(Self.epochsOption)
    batchSize = try arguments.required(TrainCommand.batchSizeOption)
    learningRate = try arguments.required(Self.learningRateOption)
    seed = try arguments.required(TrainCommand.seedOption)
    out = try arguments.value(Self.outOption)
    threads = try arguments.value(ModelOptions.threads)
  }

  /// What `--json` prints.
  struct Report: Encodable {
    var pipeline: String
    var data: String
    var test: String
    var arch: String
    var seed: UInt64
    var result: StealingReport
  }

  func run(console: Console) throws {
    if let out { try FileAccess.checkWritable(URL(fileURLWithPath: out)) }
    let description = try options.loadDescription()
    try description.requireFitted()
    let compute = ComputeOptions(threads: threads)
    let victim = try Pipeline(description, options: compute)
    let testSource = test ?? description.clean.description
    var testImages: ImageBatch
    if let test {
      testImages = try DataSource(test).load()
      try victim.check(testImages, name: "--test \(test)", file: description.file.path)
    } else {
      testImages = try description.loadClean(for: victim)
    }
    if let limit = options.limit { testImages = testImages.prefix(limit) }
    let source = try DataSource(data).load()
    guard source.count >= queries else {
      throw ModelError(
        field: "--data \(data)", expected: "at least --queries \(queries) images",
        found: "\(source.count)")
    }
    // The attacker's images are unlabelled: only their shape and values are checked.
    var queryImages = source.prefix(queries)
    queryImages.labels = [Int](repeating: 0, count: queries)
    try victim.check(queryImages, name: "--data \(data)", file: description.file.path)
    guard let architecture = ModelStealing.student(named: arch, classes: victim.classCount)
    else {
      throw ModelError(
        field: "--arch",
        expected: ModelStealing.studentArchitectures.joined(separator: " or "), found: arch)
    }
    let attack = ModelStealing(
      variant: variant, architecture: architecture, epochs: epochs, batchSize: batchSize,
      learningRate: learningRate, seed: seed)
    let outcome = try attack.run(
      victim: victim, queries: queryImages, test: testImages, options: compute
    ) { event in
      if case .step(let epoch, let total, let step) = event {
        console.progress(
          "student epoch \(epoch + 1)/\(epochs): \(step.done)/\(total) images, loss "
            + format(step.loss, digits: 4))
      }
    }
    console.endProgress()
    if let out {
      try outcome.student.write(
        to: URL(fileURLWithPath: out),
        metadata: [
          "bulwark.stolen": "from \(options.file) with \(queries) queries of \(data), "
            + "--variant \(variant.rawValue) --epochs \(epochs) --seed \(seed)"
        ])
    }
    if options.json {
      try console.printJSON(
        Report(
          pipeline: options.file, data: data, test: testSource, arch: arch, seed: seed,
          result: outcome.report))
      return
    }
    let report = outcome.report
    let learned = variant == .labels ? "labels (CopycatCNN)" : "probabilities"
    console.print("Victim: \(options.file)")
    console.print(
      "Queries: \(report.queries) from \(data), \(report.answered) answered")
    console.print("Student: \(arch), \(epochs) epochs on the victim's \(learned)")
    console.print("Test: \(report.testImages) images of \(testSource)")
    console.print("Student accuracy: " + Self.describe(report.studentAccuracy))
    console.print("Victim accuracy: " + Self.describe(report.victimAccuracy))
    console.print(
      "Agreement: " + Self.describe(report.agreement) + " (test images the victim answered)")
    if let out { console.print("Wrote \(out)") }
  }

  /// `8512 / 10000 = 0.8512 [0.8441, 0.8580]`.
  static func describe(_ share: StealingReport.Share) -> String {
    "\(share.count) / \(share.total) = \(format(share.share, digits: 4)) "
      + "[\(format(share.interval.lower, digits: 4)), \(format(share.interval.upper, digits: 4))]"
  }
}
