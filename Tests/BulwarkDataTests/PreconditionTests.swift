import BulwarkData
import Testing

/// Programmer errors stop the process with a message (exit tests run them in a child process).
@Suite struct PreconditionTests {
  @Test func aBatchWhosePixelsDoNotFitItsShapeStops() async {
    await #expect(processExitsWith: .failure) {
      _ = ImageBatch(shape: ImageShape(height: 2, width: 2, channels: 1), pixels: [0], labels: [0])
    }
  }

  @Test func aLabelOutsideTheClassNamesStops() async {
    await #expect(processExitsWith: .failure) {
      _ = ImageBatch(
        shape: ImageShape(height: 1, width: 1, channels: 1), pixels: [0], labels: [3],
        classNames: ["a", "b"])
    }
  }
}
