import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkDefenses

@Suite struct ExternalProcessDefenseTests {
  private let batch = ImageBatch(
    shape: ImageShape(height: 2, width: 3, channels: 1),
    pixels: (0..<12).map { Float($0) / 11 }, labels: [0, 1])

  private var requestLength: Int {
    NPYFile.encode(NDArray(shape: [2, 2, 3, 1], storage: .float32(batch.pixels))).count
  }

  @Test func anEchoProgramReturnsTheBatchUnchangedAndStartsOnce() throws {
    let scratch = try ScratchFolder("bulwark-external")
    let folder = scratch.url
    let log = folder.appendingPathComponent("starts").path
    let stage = try ExternalProcessDefense(command: [
      "sh", "-c", "echo started >> \(log); exec cat",
    ])
    for _ in 0..<3 {
      #expect(try stage.process(batch) == batch)
    }
    let starts = try String(contentsOfFile: log, encoding: .utf8)
    #expect(starts == "started\n")
  }

  @Test(arguments: [
    (
      ["sh", "-c", "echo boom >&2; exit 3"], "exited with status 3 before answering; it said: boom"
    ),
    (["sh", "-c", "kill -9 $$"], "was killed by signal 9"),
    (["sh", "-c", "head -c 1 > /dev/null; echo garbage; sleep 5"], "not a .npy document"),
    (["bulwark-no-such-program"], "exited with status 127"),
  ])
  func failuresNameTheStage(command: [String], message: String) throws {
    let stage = try ExternalProcessDefense(command: command, timeout: 10)
    let error = try #require(throws: ExternalDefenseError.self) { try stage.process(batch) }
    #expect(error.command == command.joined(separator: " "))
    #expect(error.description.contains(message), "\(error)")
  }

  @Test func aHangingProgramTimesOut() throws {
    let stage = try ExternalProcessDefense(command: ["sleep", "30"], timeout: 0.3)
    let error = try #require(throws: ExternalDefenseError.self) { try stage.process(batch) }
    #expect(error.message.contains("gave no answer within 0.3 s"))
  }

  @Test func anAnswerOfTheWrongShapeIsRefused() throws {
    let scratch = try ScratchFolder("bulwark-wrong")
    let wrong = scratch.url("file.npy")
    try NPYFile.write(NDArray(shape: [1, 1], storage: .float32([0.5])), to: wrong)
    let stage = try ExternalProcessDefense(
      command: ["sh", "-c", "head -c \(requestLength) > /dev/null; cat \(wrong.path); sleep 5"])
    let error = try #require(throws: ExternalDefenseError.self) { try stage.process(batch) }
    #expect(error.message.contains("answered with shape [1, 1] for a batch of shape [2, 2, 3, 1]"))
  }

  @Test func parametersAreValidated() {
    #expect(throws: DefenseParameterError.self) { try ExternalProcessDefense(command: []) }
    #expect(throws: DefenseParameterError.self) {
      try ExternalProcessDefense(command: ["cat"], timeout: 0)
    }
  }
}
