import BulwarkCore
import BulwarkData
import Foundation

/// `bulwark data convert SOURCE --out FILE.npz|DIR`: an image set to an `.npz` or a PNG folder.
struct DataConvertCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "convert",
    abstract: "Convert an image set to an .npz (x: N,H,W,C float32; y: N int64) or a PNG folder.",
    discussion: """
      The output is an .npz archive when --out ends in .npz, otherwise a new folder with one \
      subfolder of PNG files per class. --limit keeps the first N images; --sample draws a \
      seeded sample of N images that keeps each class's share.
      """,
    arguments: DataSourceArguments.definitions + [
      outOption.definition, limitOption.definition, sampleOption.definition,
      seedOption.definition, compressFlag.definition, .json,
    ])

  static let outOption = Option<String>(
    "out", valueName: "FILE.npz|DIR", help: "Where to write.", isRequired: true)
  static let limitOption = Option(
    "limit", valueName: "N", help: "Keep only the first N images.", in: 1...Int.max)
  static let sampleOption = Option(
    "sample", valueName: "N", help: "Keep a stratified random sample of N images.",
    in: 1...Int.max)
  static let seedOption = Option<UInt64>(
    "seed", valueName: "S", help: "Seed of --sample.", default: 0)
  static let compressFlag = Flag(
    "compress", help: "Deflate the .npz members (as np.savez_compressed).")

  var source: DataSourceArguments
  var out: String
  var limit: Int?
  var sample: Int?
  var seed: UInt64
  var compress: Bool
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    source = try DataSourceArguments(arguments: arguments)
    out = try arguments.required(Self.outOption)
    limit = try arguments.value(Self.limitOption)
    sample = try arguments.value(Self.sampleOption)
    seed = try arguments.required(Self.seedOption)
    compress = arguments[Self.compressFlag]
    json = arguments[.json]
    if limit != nil && sample != nil {
      throw UsageError("use --limit or --sample, not both", commandPath: arguments.commandPath)
    }
    if compress && !isNPZ {
      throw UsageError("--compress applies to .npz output only", commandPath: arguments.commandPath)
    }
  }

  private var isNPZ: Bool { out.lowercased().hasSuffix(".npz") }

  /// What was written, as `--json` prints it.
  struct Report: Encodable {
    var source: String
    var out: String
    var format: String
    var count: Int
    var shape: ImageShape
    var classCounts: [Int]
  }

  func run(console: Console) throws {
    let url = URL(fileURLWithPath: out)
    if isNPZ {
      try FileAccess.checkWritable(url)
    } else {
      try FileAccess.checkFolderWritable(url)
    }
    let (resolved, all) = try source.load()
    var batch = all
    if let limit { batch = batch.prefix(limit) }
    if let sample { batch = batch.stratifiedSample(count: sample, seed: seed) }
    if isNPZ {
      try batch.npzArchive.write(to: url, compressed: compress)
    } else {
      try ImageFolder(root: url).write(batch)
    }
    let report = Report(
      source: resolved.description, out: out, format: isNPZ ? "npz" : "png-folder",
      count: batch.count, shape: batch.shape, classCounts: batch.classCounts)
    if json {
      try console.printJSON(report)
    } else {
      console.print("Wrote \(batch.count) images of \(batch.shape) to \(out)")
    }
  }
}
