import BulwarkData
import BulwarkModel
import Foundation

/// `bulwark bench model`: forward and training throughput of the CNN engine.
struct BenchModelCommand: ParsableCommand {
  static let defaultModel = "pipelines/models/lenet5-fashion.safetensors"

  static let configuration = CommandConfiguration(
    name: "model",
    abstract: "Measure forward throughput (batch 256) on 1 thread and all cores, and training "
      + "and adversarial-training throughput.",
    discussion: """
      Measures the committed LeNet-5 (1x28x28) and the RGB CNN of the model-formats spec \
      (3x64x64: three conv 3x3 + batch norm + relu + max pool blocks of 32, 64 and 128 \
      channels, global average pooling, fc 10; random weights). Reference: onnxruntime 1.32 on \
      this machine kind runs about 37,000-50,000 LeNet-5 and 870-1,050 RGB CNN images/s on \
      one thread (the same architectures' ONNX files, 2026-12-07).

      The adversarial-training rows time LeNet-5 steps of Madry PGD training as 'bulwark train \
      --adversarial pgd' takes them (PGD-7, eps 0.1, step 0.025, random start, batch 128, \
      Adam). Reference: PyTorch on this machine kind trains that recipe at about 970-1,150 \
      images/s on 2 threads.

      With --model FILE, measures that model alone, a .safetensors network or an ONNX model: \
      forward (batch 256) and forward+backward (the loss's input gradient, as a gradient \
      attack takes it), on 1 thread and all cores. --input HxWxC gives the image shape of an \
      ONNX model exported with free height, width or channels. Compare with onnxruntime on the \
      same file (InferenceSession with intra_op_num_threads 1 and 2, batch 256).
      """,
    arguments: [
      modelOption.definition, inputOption.definition, secondsOption.definition, .json,
    ])

  static let modelOption = Option<String>(
    "model", valueName: "FILE",
    help: "Measure this model file alone (default: the suite, with \(defaultModel)).")
  static let inputOption = Option<ImageShape>(
    "input", valueName: "HxWxC", help: "The image shape, for an ONNX model that leaves it free.")
  static let secondsOption = Option(
    "seconds", valueName: "T", help: "Minimum timing per measurement.", default: 1.0,
    in: 0.01...600)

  var model: String?
  var input: ImageShape?
  var seconds: Double
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    model = try arguments.value(Self.modelOption)
    input = try arguments.value(Self.inputOption)
    seconds = try arguments.required(Self.secondsOption)
    json = arguments[.json]
    if input != nil, model == nil {
      throw UsageError("--input goes with --model FILE", commandPath: arguments.commandPath)
    }
  }

  /// One measurement, as `--json` prints it.
  struct Row: Encodable {
    var network: String
    var work: String
    var batchSize: Int
    var threads: Int
    var imagesPerSecond: Double
    var checksum: Float
  }

  func run(console: Console) throws {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let rows =
      try model.map { try measure(URL(fileURLWithPath: $0), cores: cores, console) }
      ?? suite(cores: cores, console)
    console.endProgress()
    if json {
      try console.printJSON(rows)
      return
    }
    let width = max(9, (rows.map(\.network.count).max() ?? 0) + 2)
    console.print(
      "network".padding(toLength: width, withPad: " ", startingAt: 0)
        + "work              batch  threads  images/s")
    for row in rows {
      console.print(
        row.network.padding(toLength: width, withPad: " ", startingAt: 0)
          + row.work.padding(toLength: 18, withPad: " ", startingAt: 0)
          + String(row.batchSize).leftPadded(to: 5) + String(row.threads).leftPadded(to: 9)
          + format(row.imagesPerSecond, digits: 0).leftPadded(to: 10))
    }
  }

  /// One model file: forward and forward+backward, batch 256, on 1 thread and all cores.
  private func measure(_ url: URL, cores: Int, _ console: Console) throws -> [Row] {
    var rows: [Row] = []
    let name = url.lastPathComponent
    for (work, backward) in [("forward", false), ("forward+backward", true)] {
      for threads in Set([1, cores]).sorted() {
        console.progress("\(name): \(work) on \(threads) thread(s)")
        let classifier = try loadClassifier(
          contentsOf: url, options: ComputeOptions(threads: threads), inputShape: input)
        let measured = try ModelBenchmark.measureClassifier(
          classifier, batchSize: 256, inputGradient: backward, minimumSeconds: seconds)
        rows.append(
          Row(
            network: name, work: work, batchSize: 256, threads: threads,
            imagesPerSecond: measured.imagesPerSecond, checksum: measured.checksum))
      }
    }
    return rows
  }

  /// The suite: LeNet-5 and the RGB CNN forward, LeNet-5 training and adversarial training.
  private func suite(cores: Int, _ console: Console) throws -> [Row] {
    let lenet = try Network(contentsOf: URL(fileURLWithPath: Self.defaultModel))
    let rgb = try Network(architecture: .rgbCNN(classes: 10), seed: 0)
    var rows: [Row] = []
    for (name, network) in [("lenet5", lenet), ("rgb-cnn", rgb)] {
      for threads in Set([1, cores]).sorted() {
        console.progress("\(name): forward on \(threads) thread(s)")
        let forward = ModelBenchmark.measureForward(
          network: network, batchSize: 256, threads: threads, minimumSeconds: seconds)
        rows.append(
          Row(
            network: name, work: "forward", batchSize: 256, threads: threads,
            imagesPerSecond: forward.imagesPerSecond, checksum: forward.checksum))
      }
    }
    let trainings = [
      ("training step", 64, ModelBenchmark.measureTraining),
      ("pgd-7 training", 128, ModelBenchmark.measureAdversarialTraining),
    ]
    for (work, batchSize, measure) in trainings {
      for threads in Set([1, cores]).sorted() {
        console.progress("lenet5: \(work) on \(threads) thread(s)")
        let training = measure(lenet, batchSize, threads, seconds)
        rows.append(
          Row(
            network: "lenet5", work: work, batchSize: batchSize, threads: threads,
            imagesPerSecond: training.imagesPerSecond, checksum: training.checksum))
      }
    }
    return rows
  }
}
