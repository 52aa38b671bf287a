import BulwarkModel
import Testing

/// Programmer errors stop the process with a message (exit tests run them in a child process).
@Suite struct PreconditionTests {
  @Test func aTrainerWithBatchesOfNoImageStops() async {
    await #expect(processExitsWith: .failure) {
      _ = Trainer(batchSize: 0, seed: 0)
    }
  }
}
