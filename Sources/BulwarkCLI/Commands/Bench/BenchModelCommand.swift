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
      channels, global average pooling, fc 10; random weights). Reference: onnxruntime 1.31 on \
      this machine kind runs about 54,000 LeNet-5 and 1,160 RGB CNN images/s on one thread.

      The adversarial-training rows time LeNet-5 steps of Madry PGD training as 'bulwark train \
      --adversarial pgd' takes them (PGD-7, eps 0.1, step 0.025, random start, batch 128, \
      Adam). Reference: PyTorch on this machine kind trains that recipe at about 1,150 \
      images/s on 2 threads.
      """,
    arguments: [modelOption.definition, secondsOption.definition, .json])

  static let modelOption = Option(
    "model", valueName: "FILE", help: "The LeNet-5 model file.", default: defaultModel)
  static let secondsOption = Option(
    "seconds", valueName: "T", help: "Minimum timing per measurement.", default: 1.0,
    in: 0.01...600)

  var model: String
  var seconds: Double
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    model = try arguments.required(Self.modelOption)
    seconds = try arguments.required(Self.secondsOption)
    json = arguments[.json]
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
    let lenet = try Network(contentsOf: URL(fileURLWithPath: model))
    let rgb = try Network(architecture: .rgbCNN(classes: 10), seed: 0)
    let cores = ProcessInfo.processInfo.activeProcessorCount
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
    console.endProgress()
    if json {
      try console.printJSON(rows)
      return
    }
    console.print("network  work           batch  threads  images/s")
    for row in rows {
      console.print(
        row.network.padding(toLength: 9, withPad: " ", startingAt: 0)
          + row.work.padding(toLength: 15, withPad: " ", startingAt: 0)
          + String(row.batchSize).leftPadded(to: 5) + String(row.threads).leftPadded(to: 9)
          + format(row.imagesPerSecond, digits: 0).leftPadded(to: 10))
    }
  }
}
