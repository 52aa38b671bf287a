import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkData

@Suite struct LabelSpaceTests {
  static let shape = ImageShape(height: 1, width: 1, channels: 1)
  static let fashion = ["T-shirt/top", "Trouser", "Pullover", "Dress"]

  /// One single-pixel image per label, its value the label over 10 (to follow images).
  static func batch(labels: [Int], classNames: [String]) -> ImageBatch {
    ImageBatch(
      shape: shape, pixels: labels.map { Float($0) / 10 }, labels: labels,
      classNames: classNames)
  }

  @Test func readsNumbersNamesAndBoth() {
    #expect(ClassName("7").index == 7 && ClassName("7").key == nil)
    #expect(ClassName("03-T-shirt-top").index == 3)
    #expect(ClassName("03-T-shirt-top").key == "t-shirt-top")
    #expect(ClassName("T-shirt/top").index == nil && ClassName("T-shirt/top").key == "t-shirt-top")
    #expect(ClassName("3D").index == nil && ClassName("3-").index == nil)
  }

  @Test func renumbersASetThatLacksAClassByName() throws {
    // The folders of a set with no Trouser images, sorted: labels 0, 1, 2 by position.
    let adversarial = Self.batch(
      labels: [0, 1, 2, 2], classNames: ["Dress", "Pullover", "T-shirt-top"])
    let aligned = try adversarial.aligned(toClasses: Self.fashion, of: "clean", as: "adv")
    #expect(aligned.labels == [3, 2, 0, 0])
    #expect(aligned.classNames == Self.fashion)
    #expect(aligned.pixels == adversarial.pixels)
  }

  @Test func takesNumberedClassesAsNumbered() throws {
    let numbered = Self.batch(labels: [0, 1], classNames: ["0", "3"])
    let aligned = try numbered.aligned(toClasses: ["0", "1", "2", "3"], of: "clean", as: "adv")
    #expect(aligned.labels == [0, 3])
    let both = Self.batch(labels: [0, 1], classNames: ["0-T-shirt-top", "2-Pullover"])
    #expect(try both.aligned(toClasses: Self.fashion, of: "clean", as: "adv").labels == [0, 2])
  }

  @Test func refusesAShiftedOrForeignClassNamingBothSets() {
    let shifted = Self.batch(labels: [0], classNames: ["2-Trouser"])
    #expect(
      throws: DataSourceError(
        source: "data.adversarial (adv)",
        message: "class '2-Trouser' is numbered 2, but 'Trouser' is class 1 of data.clean (clean)")
    ) {
      try shifted.aligned(
        toClasses: Self.fashion, of: "data.clean (clean)", as: "data.adversarial (adv)")
    }
    let foreign = Self.batch(labels: [0], classNames: ["Sandal"])
    let error = #expect(throws: DataSourceError.self) {
      try foreign.aligned(toClasses: Self.fashion, of: "data.clean", as: "data.adversarial")
    }
    #expect(
      error?.description
        == "data.adversarial: class 'Sandal' is not a class of data.clean (its classes: "
        + "'T-shirt/top', 'Trouser', 'Pullover', 'Dress')")
    let unnamed = Self.batch(labels: [0], classNames: ["Sandal", "Bag"])
    #expect(throws: DataSourceError.self) {
      try unnamed.aligned(toClasses: ["0", "1", "2"], of: "data.clean", as: "data.adversarial")
    }
    let twice = Self.batch(labels: [0, 1], classNames: ["Trouser", "1"])
    #expect(throws: DataSourceError.self) {
      try twice.aligned(toClasses: Self.fashion, of: "data.clean", as: "data.adversarial")
    }
  }

  @Test func ignoresClassesWithoutImages() throws {
    let batch = Self.batch(labels: [1], classNames: ["Sandal", "Dress"])
    #expect(try batch.aligned(toClasses: Self.fashion, of: "clean", as: "adv").labels == [3])
  }

  @Test func readsNumberedFoldersWithAGapWhereAClassIsMissing() throws {
    let scratch = try ScratchFolder("bulwark-label-space")
    let root = scratch.url("adv")
    let batch = Self.batch(labels: [0, 2, 3, 2], classNames: Self.fashion)
    try ImageFolder(root: root).write(batch)
    // No Trouser images: `bulwark data convert` writes an empty folder; a user's tools may not.
    try FileManager.default.removeItem(at: root.appendingPathComponent("1-Trouser"))
    let read = try ImageFolder(root: root).load()
    #expect(read.labels.sorted() == [0, 2, 2, 3])
    #expect(read.classNames == ["0-T-shirt-top", "1", "2-Pullover", "3-Dress"])
    let aligned = try read.aligned(toClasses: Self.fashion, of: "clean", as: "adv")
    #expect(aligned.labels == read.labels)
    // Written again, a numbered name keeps its one number.
    try ImageFolder(root: scratch.url("again")).write(read)
    let folders = try FileManager.default.contentsOfDirectory(atPath: scratch.path("again"))
    #expect(folders.sorted() == ["0-T-shirt-top", "1", "2-Pullover", "3-Dress"])
  }

  @Test func refusesTwoFoldersOfOneNumber() throws {
    let scratch = try ScratchFolder("bulwark-label-space")
    for name in ["1-a", "01-b"] {
      try FileManager.default.createDirectory(
        at: scratch.url("set/\(name)"), withIntermediateDirectories: true)
    }
    #expect(
      throws: DataSourceError(
        source: scratch.path("set"), message: "class folders '01-b' and '1-a' are both numbered 1")
    ) {
      try ImageFolder(root: scratch.url("set")).classNames()
    }
  }
}
