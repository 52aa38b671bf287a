import BulwarkCore
import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkPipeline

@Suite struct AdversarialCacheTests {
  @Test func reusesTheCachedSetAndKeysItByTheAttack() throws {
    let scratch = try ScratchFolder("bulwark-cache")
    let folder = scratch.url
    let model = folder.appendingPathComponent("m.safetensors")
    try Data([1, 2, 3]).write(to: model)
    let clean = TableClassifier.batch([(0, 0), (0.5, 1), (0.9, 1)])
    let source = DataSource.npz(folder.appendingPathComponent("clean.npz"))
    let cache = AdversarialCache(folder: folder.appendingPathComponent(".bulwark-cache"))
    let settings = try attack("{ method: 'fgsm', eps: 0.25 }")

    let first = try cache.adversarialSet(
      model: model, classifier: TableClassifier(), clean: (source, clean), attack: settings)
    #expect(first.cached == false)
    #expect(first.images.pixels == [0.25, 0.75, 1])  // FGSM: +eps along the gradient, clipped
    #expect(first.images.labels == clean.labels)
    let file = try cache.file(model: model, clean: source, attack: settings)
    #expect(FileManager.default.fileExists(atPath: file.path))

    let second = try cache.adversarialSet(
      model: model, classifier: TableClassifier(), clean: (source, clean), attack: settings)
    #expect(second.cached == true)
    #expect(second.images == first.images)

    let other = try attack("{ method: 'fgsm', eps: 0.3 }")
    #expect(try cache.file(model: model, clean: source, attack: other) != file)
    try clean.npzArchive.write(to: folder.appendingPathComponent("clean.npz"))
    let rewritten = try cache.file(model: model, clean: source, attack: settings)
    #expect(rewritten != file)
    try Data([1, 2, 4]).write(to: model)
    #expect(try cache.file(model: model, clean: source, attack: settings) != rewritten)
  }

  @Test func shardsMakeASetTogetherByteForByteAsOneRun() throws {
    let scratch = try ScratchFolder("bulwark-cache-shards")
    let folder = scratch.url
    let model = folder.appendingPathComponent("m.safetensors")
    try Data([1, 2, 3]).write(to: model)
    // 2,500 images: three slices of AttackRun.sliceSize, one per shard of three.
    let clean = TableClassifier.batch((0..<2_500).map { (Float($0 % 97) / 97, $0 % 2) })
    let source = DataSource.npz(folder.appendingPathComponent("clean.npz"))
    // PGD from a random start: a part attacked out of its slice would draw other starts.
    let settings = try attack("{ method: 'pgd', eps: 0.2, steps: 2, seed: 5 }")
    func cache(_ name: String) -> AdversarialCache {
      AdversarialCache(folder: folder.appendingPathComponent(name))
    }
    let whole = try cache("one").adversarialSet(
      model: model, classifier: TableClassifier(), clean: (source, clean), attack: settings)
    let oneFile = try cache("one").file(model: model, clean: source, attack: settings)

    // Shard 2 of 3 starts alone: it makes its part, then shard 3's and shard 1's, and joins
    // them into the file one run writes.
    let shared = cache("shared")
    let second = try shared.adversarialSet(
      model: model, classifier: TableClassifier(), clean: (source, clean), attack: settings,
      sharing: .together(try Shard(2, of: 3)))
    #expect(second.cached == false)
    #expect(second.images == whole.images)
    let sharedFile = try shared.file(model: model, clean: source, attack: settings)
    #expect(try Data(contentsOf: sharedFile) == Data(contentsOf: oneFile))
    for (index, count) in [(1, 1_000), (2, 1_000), (3, 500)] {
      let part = ShardedSet(file: sharedFile, count: 2_500).part(for: try Shard(index, of: 3))
      let images = try ImageBatch(npz: NPZArchive(contentsOf: part), file: part.path)
      #expect(images.count == count)
      let start = (index - 1) * 1_000
      #expect(images.pixels == Array(whole.images.pixels[start..<(start + count)]))
    }
    // A shard that comes later reads the joined set.
    let third = try shared.adversarialSet(
      model: model, classifier: TableClassifier(), clean: (source, clean), attack: settings,
      sharing: .together(try Shard(3, of: 3)))
    #expect(third.cached == true)

    // A part another shard already wrote is taken as it is, not made again.
    let partial = cache("partial")
    let partialFile = try partial.file(model: model, clean: source, attack: settings)
    let marked = TableClassifier.batch(
      (0..<1_000).map { (0.125, clean.labels[$0]) })
    try FileAccess.createFolder(partial.folder)
    try marked.npzArchive.write(
      to: ShardedSet(file: partialFile, count: 2_500).part(for: try Shard(1, of: 3)))
    let joined = try partial.adversarialSet(
      model: model, classifier: TableClassifier(), clean: (source, clean), attack: settings,
      sharing: .together(try Shard(3, of: 3)))
    #expect(Array(joined.images.pixels[..<1_000]) == marked.pixels)
    #expect(Array(joined.images.pixels[1_000...]) == Array(whole.images.pixels[1_000...]))
  }

  func attack(_ text: String) throws -> AttackSettings {
    var parser = JSON5Parser(text, file: "test")
    return try JSONValueDecoder(try parser.parse(), usage: KeyUsage(), file: "test")
      .decode(AttackSettings.self)
  }
}
