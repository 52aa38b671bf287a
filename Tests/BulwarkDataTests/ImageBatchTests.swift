import Testing

@testable import BulwarkData

@Suite struct ImageBatchTests {
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
