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

  func attack(_ text: String) throws -> AttackSettings {
    var parser = JSON5Parser(text, file: "test")
    return try JSONValueDecoder(try parser.parse(), usage: KeyUsage(), file: "test")
      .decode(AttackSettings.self)
  }
}
