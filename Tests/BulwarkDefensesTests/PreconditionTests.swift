import BulwarkData
import BulwarkDefenses
import Testing

/// Programmer errors stop the process with a message (exit tests run them in a child process).
@Suite struct PreconditionTests {
  @Test func probabilitiesOfTheWrongCountStop() async {
    await #expect(processExitsWith: .failure) {
      _ = Probabilities(rows: 2, columns: 3, values: [0.5, 0.5])
    }
  }

  @Test func imageChunksOfNoImageStop() async {
    await #expect(processExitsWith: .failure) {
      let batch = ImageBatch(
        shape: ImageShape(height: 1, width: 1, channels: 1), pixels: [0], labels: [0])
      _ = batch.mappingImageChunks(chunkSize: 0, threads: 1) { _, _, _ in }
    }
  }
}
