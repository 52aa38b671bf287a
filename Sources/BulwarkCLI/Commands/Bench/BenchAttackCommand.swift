import BulwarkData
import BulwarkModel
import Foundation

/// `bulwark bench attack`: throughput of APGD-CE and the Square Attack.
struct BenchAttackCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "attack",
    abstract: "Measure APGD-CE (100 steps) and Square (1,000 queries) throughput, 1 thread and "
      + "all cores.",
    discussion: """
      Attacks 256 Fashion-MNIST test images on the committed LeNet-5 and 16 random images on \
      the RGB CNN of the model-formats spec (random weights; labels are its own predictions, \
      so every image starts correct), L-infinity eps 0.1 (LeNet-5) or 8/255 (RGB CNN). \
      Reference: plain PyTorch PGD-40 on LeNet-5 runs about 180 images/s with 2 threads on \
      this machine kind, which is about 72 images/s for 100 steps.
      """,
    arguments: [BenchModelCommand.modelOption.definition, .json])

  var model: String
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    model = try arguments.required(BenchModelCommand.modelOption)
    json = arguments[.json]
  }

  /// One measurement, as `--json` prints it.
  struct Row: Encodable {
    var network: String
    var attack: String
    var threads: Int
    var images: Int
    var imagesPerSecond: Double
    var robust: Int
    var checksum: Float
  }

  func run(console: Console) throws {
    let lenet = try Network(contentsOf: URL(fileURLWithPath: model))
    let fashion =
      BuiltinDataset.fashionMNISTTest.isInstalled
      ? try BuiltinDataset.fashionMNISTTest.load().prefix(256)
      : ModelBenchmark.randomBatch(lenet.inputShape, count: 256, classes: 10)
    let rgb = try Network(architecture: .rgbCNN(classes: 10), seed: 0)
    var rgbImages = ModelBenchmark.randomBatch(rgb.inputShape, count: 16, classes: 10)
    rgbImages.labels = try rgb.predictions(rgbImages)
    let cores = ProcessInfo.processInfo.activeProcessorCount
    var rows: [Row] = []
    let cases: [(String, Network, ImageBatch, Float)] = [
      ("lenet5", lenet, fashion, 0.1), ("rgb-cnn", rgb, rgbImages, 8 / 255),
    ]
    for (name, network, batch, epsilon) in cases {
      let attacks: [(String, any Attack)] = [
        ("apgd-ce 100 steps", APGD(epsilon: epsilon, steps: 100)),
        ("square 1000 queries", SquareAttack(epsilon: epsilon, queries: 1_000)),
      ]
      for (attackName, attack) in attacks {
        for threads in Set([1, cores]).sorted() {
          console.progress("\(name): \(attackName) on \(threads) thread(s)")
          var classifier = network
          classifier.options = ComputeOptions(threads: threads)
          let measured = try AttackBenchmark.measure(attack, classifier: classifier, batch: batch)
          rows.append(
            Row(
              network: name, attack: attackName, threads: threads, images: batch.count,
              imagesPerSecond: measured.imagesPerSecond, robust: measured.robust,
              checksum: measured.checksum))
        }
      }
    }
    console.endProgress()
    if json {
      try console.printJSON(rows)
      return
    }
    console.print("network  attack               threads  images  images/s  robust")
    for row in rows {
      console.print(
        row.network.padding(toLength: 9, withPad: " ", startingAt: 0)
          + row.attack.padding(toLength: 21, withPad: " ", startingAt: 0)
          + String(row.threads).leftPadded(to: 7) + String(row.images).leftPadded(to: 8)
          + format(row.imagesPerSecond, digits: 1).leftPadded(to: 10)
          + String(row.robust).leftPadded(to: 8))
    }
  }
}
