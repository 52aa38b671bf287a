import BulwarkCore
import BulwarkData
import BulwarkModel
import Foundation

/// An adversarial set made in parts by the shards of a job, each part beside the set's file as
/// `<name>.part-I-of-N.npz` (`adv.npz`: `adv.part-2-of-4.npz`).
///
/// A shard's part is its share of the set's slices of `AttackRun.sliceSize` images (see
/// `Shard.range(of:)`): an attack draws its random numbers per slice, so a part attacked alone
/// holds exactly the images an unsharded run makes there, and the joined parts are that run's
/// set, byte for byte.
public struct ShardedSet: Sendable {
  /// The whole set's file.
  public var file: URL
  /// The images of the whole set.
  public var count: Int

  /// A set of `count` images whose file is `file`.
  public init(file: URL, count: Int) {
    self.file = file
    self.count = count
  }

  /// A shard's part file.
  /// - Parameter shard: The shard.
  /// - Returns: `<name>.part-I-of-N.npz` beside the set's file.
  public func part(for shard: Shard) -> URL { Self.part(of: file, for: shard) }

  /// A shard's part file of the set in `file`, before the set's size is known.
  /// - Parameters:
  ///   - file: The whole set's file.
  ///   - shard: The shard.
  /// - Returns: `<name>.part-I-of-N.npz` beside `file`.
  public static func part(of file: URL, for shard: Shard) -> URL {
    file.deletingPathExtension().appendingPathExtension("part-\(shard.fileTag).npz")
  }

  /// The positions of the images a shard's part holds (empty when the shard has no slice).
  /// - Parameter shard: The shard.
  /// - Returns: A range of whole slices, the last one possibly short.
  public func images(for shard: Shard) -> Range<Int> {
    let size = AttackRun.sliceSize
    let slices = shard.range(of: (count + size - 1) / size)
    return min(slices.lowerBound * size, count)..<min(slices.upperBound * size, count)
  }

  /// The shard count of the parts beside the file, or nil when there are none.
  /// - Throws: `ShardError` when parts of several shard counts lie there.
  public func shardCount() throws(ShardError) -> Int? {
    let folder = file.deletingLastPathComponent()
    let prefix = file.deletingPathExtension().lastPathComponent + ".part-"
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    let counts = Set(
      names.compactMap { name -> Int? in
        guard name.hasPrefix(prefix), name.hasSuffix(".npz") else { return nil }
        let tag = name.dropFirst(prefix.count).dropLast(".npz".count).split(separator: "-")
        guard tag.count == 3, tag[1] == "of", Int(tag[0]) != nil else { return nil }
        return Int(tag[2])
      }
    ).sorted()
    guard counts.count <= 1 else {
      throw ShardError(
        "\(folder.path) holds parts of \(file.lastPathComponent) from jobs of "
          + counts.map(String.init).joined(separator: " and ") + " shards; keep one job's")
    }
    return counts.first
  }

  /// Attacks a shard's part of `clean` and writes it, unless its file is there already.
  /// - Parameters:
  ///   - shard: The shard.
  ///   - clean: The whole clean set.
  ///   - attack: The attack.
  ///   - classifier: The classifier or pipeline under attack.
  ///   - targets: One target class per image of the whole set, or nil.
  ///   - progress: Called with the part's images done and its total.
  /// - Returns: The part's images, or nil when its file was there already.
  /// - Throws: Errors from the attack and from writing.
  @discardableResult
  public func makePart(
    for shard: Shard, of clean: ImageBatch, attack: any Attack, classifier: any Classifier,
    targets: [Int]? = nil, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> ImageBatch? {
    let range = images(for: shard)
    let url = part(for: shard)
    guard !range.isEmpty, FileAccess.kind(of: url.path) == .missing else { return nil }
    let images = try AttackRun.perturb(
      clean.selecting(range), with: attack, classifier: classifier,
      targets: targets.map { Array($0[range]) }, progress: progress)
    // An atomic write: a shard killed in the middle leaves no part behind.
    try images.npzArchive.write(to: url)
    return images
  }

  /// The whole set, joined from the parts of a job of `shards` shards.
  /// - Parameters:
  ///   - shards: The job's shard count.
  ///   - clean: The whole clean set (its labels and class names are the set's).
  ///   - known: Parts already in memory, by shard.
  /// - Returns: The set.
  /// - Throws: `ShardError` listing every missing part by shard and its images; errors from
  ///   reading a part, or a part of the wrong size.
  public func joined(
    shards: Int, like clean: ImageBatch, known: [Shard: ImageBatch] = [:]
  ) throws -> ImageBatch {
    let all = try Shard(1, of: shards).siblings.filter { !images(for: $0).isEmpty }
    let missing = all.filter {
      known[$0] == nil && FileAccess.kind(of: part(for: $0).path) == .missing
    }
    guard missing.isEmpty else {
      throw ShardError(
        "cannot join \(file.lastPathComponent) from \(shards) shards: "
          + missing.map { "shard \($0) has not made images \(images(for: $0))" }
          .joined(separator: ", ") + "; run those shards, then join again")
    }
    var pixels: [Float] = []
    pixels.reserveCapacity(clean.pixels.count)
    for shard in all {
      let url = part(for: shard)
      let loaded = try known[shard] ?? ImageBatch(npz: NPZArchive(contentsOf: url), file: url.path)
      let expected = images(for: shard).count
      guard loaded.count == expected, loaded.shape == clean.shape else {
        throw FileAccessError(
          path: url.path, operation: .read,
          reason: "holds \(loaded.count) images of \(loaded.shape), but shard \(shard)'s part "
            + "has \(expected) of \(clean.shape); remove it and run the shard again")
      }
      pixels += loaded.pixels
    }
    return ImageBatch(
      shape: clean.shape, pixels: pixels, labels: clean.labels, classNames: clean.classNames)
  }
}
