import Testing

@testable import BulwarkData

@Suite struct ImageBatchTests {
  @Test func npzArchivesCarryClassNamesButNotNumbers() throws {
    let shape = ImageShape(height: 1, width: 1, channels: 1)
    let named = ImageBatch(
      shape: shape, pixels: [0, 1], labels: [0, 2], classNames: ["dark", "grey", "bright"])
    #expect(named.npzArchive.names.contains("classes"))
    let read = try ImageBatch(
      npz: NPZArchive(decoding: named.npzArchive.encoded(), file: "n"), file: "n")
    #expect(read == named)
    let numbered = ImageBatch(shape: shape, pixels: [0, 1], labels: [0, 1])
    #expect(!numbered.npzArchive.names.contains("classes"))
    var short = named.npzArchive
    short = NPZArchive(
      short.entries.filter { $0.name != "classes" }
        + [
          NPZArchive.Entry(
            name: "classes", array: NDArray(shape: [2], storage: .unicode(["a", "b"])))
        ])
    #expect(
      throws: FormatError(
        file: "n", location: .field("classes"),
        expected: "a name for every label, 0...2 (at most 100000)", found: "2 names")
    ) {
      try ImageBatch(npz: NPZArchive(decoding: short.encoded(), file: "n"), file: "n")
    }
  }

  @Test func selectingKeepsImagesAndLabelsTogether() {
    let shape = ImageShape(height: 1, width: 2, channels: 1)
    let batch = ImageBatch(shape: shape, pixels: [0, 0.1, 0.2, 0.3, 0.4, 0.5], labels: [2, 0, 1])
    let picked = batch.selecting([2, 0])
    #expect(picked.pixels == [0.4, 0.5, 0, 0.1])
    #expect(picked.labels == [1, 2])
    #expect(picked.classNames == ["0", "1", "2"])
    #expect(batch.classCounts == [1, 1, 1])
  }
}
