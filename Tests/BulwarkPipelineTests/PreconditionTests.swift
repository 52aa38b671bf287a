import BulwarkData
import BulwarkModel
import Testing

@testable import BulwarkPipeline

/// Programmer errors stop the process with a message (exit tests run them in a child process).
@Suite struct PreconditionTests {
  @Test func scoringInBatchesOfNoImageStops() async {
    await #expect(processExitsWith: .failure) {
      let batch = TableClassifier.batch([(0, 0)])
      _ = try? Pipeline(classifier: TableClassifier())
        .score(clean: batch, adversarial: batch, batchSize: 0)
    }
  }

  @Test func expectationOverNoSampleStops() async {
    await #expect(processExitsWith: .failure) {
      _ = ExpectationOverTransformation(Pipeline(classifier: TableClassifier()), samples: 0)
    }
  }
}
