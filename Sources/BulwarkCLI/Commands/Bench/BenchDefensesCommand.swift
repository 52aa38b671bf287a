import BulwarkCore
import BulwarkData
import BulwarkDefenses
import Foundation

/// `bulwark bench defenses`: throughput of every built-in defense against ART's one-core figures.
struct BenchDefensesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "defenses",
    abstract: "Measure each defense's throughput on 2,000 Fashion-MNIST test images (grey and "
      + "repeated to RGB), 1 thread and all cores, and the postprocessors on 10,000 x 10 rows.",
    discussion: """
      Beside each figure: ART 1.20.1's throughput on one core for the same work (the anchor \
      table of the defenses spec) and our ratio to it. Postprocessors run on one thread; each of \
      their timed runs repeats the call for at least 50 ms and counts the mean call.
      """,
    arguments: [runsOption.definition, .json])

  static let runsOption = Option(
    "runs", valueName: "K", help: "Timed runs per measurement (median).", default: 5,
    in: 1...1_000)

  var runs: Int
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    runs = try arguments.required(Self.runsOption)
    json = arguments[.json]
  }

  /// One measurement, as `--json` prints it.
  struct Row: Encodable {
    var defense: String
    var setting: String
    var images: String
    var threads: Int
    var perSecond: Double
    var artOneCore: Double?
    var ratio: Double?
    var checksum: Double
  }

  /// A preprocessor to measure, with its ART anchors (grey, RGB) in images per second.
  struct Case {
    var name: String
    var setting: String
    var defense: any ThreadedPreprocessor
    var grey: Double?
    var rgb: Double?
  }

  static func cases() throws -> [Case] {
    [
      Case(
        name: "spatial-smoothing", setting: "window 2", defense: try SpatialSmoothing(window: 2),
        grey: 52_000, rgb: nil),
      Case(
        name: "spatial-smoothing", setting: "window 3", defense: try SpatialSmoothing(window: 3),
        grey: 20_000, rgb: 8_800),
      Case(
        name: "spatial-smoothing", setting: "window 5", defense: try SpatialSmoothing(window: 5),
        grey: 6_200, rgb: nil),
      Case(
        name: "jpeg-compression", setting: "quality 50", defense: try JPEGCompression(quality: 50),
        grey: 9_600, rgb: 7_900),
      Case(
        name: "feature-squeezing", setting: "4 bits",
        defense: try FeatureSqueezing(bitDepth: 4, clipValues: .unit), grey: 390_000, rgb: 59_000),
      Case(
        name: "total-variation-minimization", setting: "defaults",
        defense: try TotalVariationMinimization(), grey: 680, rgb: 246),
    ]
  }

  func run(console: Console) throws {
    let grey = try BuiltinDataset.fashionMNISTTest.load().prefix(2_000)
    let rgb = ImageBatch(
      shape: ImageShape(height: grey.shape.height, width: grey.shape.width, channels: 3),
      pixels: grey.pixels.flatMap { [$0, $0, $0] }, labels: grey.labels,
      classNames: grey.classNames)
    let cores = ProcessInfo.processInfo.activeProcessorCount
    var rows: [Row] = []
    for entry in try Self.cases() {
      for (label, batch, anchor) in [("2000 grey", grey, entry.grey), ("2000 RGB", rgb, entry.rgb)]
      {
        for threads in Set([1, cores]).sorted() {
          console.progress("\(entry.name) \(entry.setting), \(label), \(threads) thread(s)")
          var defense = entry.defense
          defense.threadCount = threads
          let timing = try Stopwatch.median(runs: runs) {
            Self.checksum(try defense.process(batch).pixels)
          }
          let rate = Double(batch.count) / timing.seconds
          rows.append(
            Row(
              defense: entry.name, setting: entry.setting, images: label, threads: threads,
              perSecond: rate, artOneCore: anchor, ratio: anchor.map { rate / $0 },
              checksum: timing.checksum))
        }
      }
    }
    let table = Probabilities.softmaxLike(rows: 10_000, columns: 10, seed: 0)
    let postprocessors: [(String, any Postprocessor, Double?)] = [
      ("high-confidence", try HighConfidence(), 60_000_000),
      ("reverse-sigmoid", try ReverseSigmoid(), 21_000_000),
      ("rounded", try Rounded(), 330_000_000),
      ("class-labels", ClassLabels(), nil),
      ("gaussian-noise", try GaussianNoise(), nil),
    ]
    for (name, defense, anchor) in postprocessors {
      console.progress("\(name), 10000 x 10 rows")
      let timing = try Stopwatch.median(runs: max(runs, 5), secondsPerRun: 0.05) {
        Self.checksum(try defense.process(table).values)
      }
      let rate = 10_000 / timing.seconds
      rows.append(
        Row(
          defense: name, setting: "defaults", images: "10000 x 10 rows", threads: 1,
          perSecond: rate, artOneCore: anchor, ratio: anchor.map { rate / $0 },
          checksum: timing.checksum))
    }
    console.endProgress()
    if json {
      try console.printJSON(rows)
      return
    }
    console.print(
      "defense                       setting     data             threads   per second"
        + "   ART 1 core    ratio")
    for row in rows {
      let anchor = row.artOneCore.map { format($0, digits: 0) } ?? "-"
      let ratio = row.ratio.map { format($0, digits: 1) + "x" } ?? "-"
      console.print(
        row.defense.padding(toLength: 30, withPad: " ", startingAt: 0)
          + row.setting.padding(toLength: 12, withPad: " ", startingAt: 0)
          + row.images.padding(toLength: 17, withPad: " ", startingAt: 0)
          + "\(row.threads)".padding(toLength: 8, withPad: " ", startingAt: 0)
          + pad(format(row.perSecond, digits: 0), 12) + pad(anchor, 13) + pad(ratio, 9))
    }
  }

  /// A sum of about 100 values spread over the output: enough to keep the work, and negligible
  /// beside it. A full sum would cost as much as the faster defenses, and even every 61st value
  /// (1,640 dependent additions on 10,000 x 10 rows: 1.6 us with the values in cache) took about
  /// an eighth of a rounding call.
  static func checksum(_ values: [Float]) -> Double {
    stride(from: 0, to: values.count, by: max(1, values.count / 100)).reduce(0) {
      $0 + Double(values[$1])
    }
  }

  private func pad(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(0, width - text.count)) + text
  }
}
