import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkModel

@Suite struct ModelFileTests {
  let scratch: ScratchFolder

  init() throws {
    scratch = try ScratchFolder("bulwark-model")
  }

  private func temporaryFile(_ name: String) -> URL { scratch.url(name) }

  @Test func aSavedNetworkLoadsBackIdentical() throws {
    let network = try Network(architecture: .lenet5(classes: 10), seed: 3)
    let url = temporaryFile("lenet.safetensors")
    try network.write(to: url, metadata: ["note": "test"])
    let loaded = try Network(contentsOf: url)
    #expect(loaded.architecture == network.architecture)
    #expect(loaded.namedParameters().map(\.values) == network.namedParameters().map(\.values))
    let file = try SafeTensorsFile(contentsOf: url)
    #expect(file.metadata["format"] == "pt")
    #expect(file.metadata["note"] == "test")
    // PyTorch's names and layouts.
    #expect(file["conv1.weight"]?.shape == [6, 1, 5, 5])
    #expect(file["fc1.weight"]?.shape == [120, 400])
    #expect(file.names.count == 10)
  }

  @Test func batchNormCountersAreWrittenForPyTorchAndIgnoredOnLoad() throws {
    let network = try Network(architecture: .rgbCNN(classes: 10), seed: 1)
    let file = network.safeTensorsFile()
    #expect(file["bn1.num_batches_tracked"]?.dtype == .int64)
    let loaded = try Network(safeTensors: file)
    #expect(loaded.parameterCount == network.parameterCount)
  }

  @Test func aFileWithoutArchitectureIsAClearError() throws {
    let file = SafeTensorsFile(
      tensors: [(name: "w", tensor: SafeTensor([1, 2] as [Float], shape: [2]))],
      source: "plain.safetensors")
    let error = try #require(throws: FormatError.self) { try Network(safeTensors: file) }
    #expect(error.location == .field("__metadata__.architecture"))
    #expect(error.file == "plain.safetensors")
  }

  @Test func tensorsThatDoNotFitTheArchitectureNameTheTensor() throws {
    let network = try Network(architecture: .lenet5(classes: 10), seed: 3)
    var file = network.safeTensorsFile()
    let weights = try #require(file["fc3.weight"])
    // Same number of values, wrong shape.
    file["fc3.weight"] = SafeTensor(try weights.floats(), shape: [84, 10])
    let shapeError = try #require(throws: FormatError.self) { try Network(safeTensors: file) }
    #expect(shapeError.location == .field("fc3.weight.shape"))
    file["fc3.weight"] = nil
    let missing = try #require(throws: FormatError.self) { try Network(safeTensors: file) }
    #expect(missing.location == .field("fc3.weight"))
    file["fc3.weight"] = SafeTensor([Float](repeating: .nan, count: 840), shape: [10, 84])
    let nan = try #require(throws: FormatError.self) { try Network(safeTensors: file) }
    #expect(nan.expected.contains("finite"))
  }

  /// A LeNet-5 file whose architecture metadata is replaced by `edit` of its JSON text.
  func lenetFile(editing edit: (String) -> String) throws -> SafeTensorsFile {
    var file = try Network(architecture: .lenet5(classes: 10), seed: 3).safeTensorsFile()
    let json = try #require(file.metadata[Network.architectureMetadataKey])
    file.metadata[Network.architectureMetadataKey] = edit(json)
    file.source = "hostile.safetensors"
    return file
  }

  /// Sizes in the architecture are checked against stated limits and against the tensors
  /// present before anything is allocated: 2^40 output channels, a padding of 2^40 and an input
  /// of 2^62 pixels aborted or overflowed.
  @Test(arguments: [
    (
      #""out":6,"#, #""out":1099511627776,"#, "__metadata__.architecture.layers[0] (conv1)",
      "found out 1099511627776, kernel 5"
    ),
    (
      #""padding":2"#, #""padding":1099511627776"#, "__metadata__.architecture.layers[0] (conv1)",
      "padding 1099511627776"
    ),
    (
      #""height":28,"width":28"#, #""height":2147483648,"width":2147483648"#,
      "__metadata__.architecture.input", "found 2147483648x2147483648x1"
    ),
    (
      #""kernel":5,"padding":2"#, #""kernel":3,"padding":1"#, "conv1.weight.shape",
      "expected [6, 1, 3, 3], found [6, 1, 5, 5]"
    ),
    (
      #""out":6,"#, #""out":"6","#, "__metadata__.architecture.layers[0].out",
      #"found a string "6""#
    ),
    (#""classes":10"#, #""classes":1e30"#, "__metadata__.architecture.classes", "found 1e+30"),
  ])
  func refusesAHostileArchitecture(old: String, new: String, field: String, found: String) throws {
    let file = try lenetFile { $0.replacingOccurrences(of: old, with: new) }
    let error = try #require(throws: FormatError.self) { try Network(safeTensors: file) }
    #expect(error.file == "hostile.safetensors")
    #expect(error.location == .field(field))
    #expect(error.description.contains(found), "\(error)")
    #expect(!error.description.contains("DecodingError"))
  }

  @Test func aCheckpointRoundTripsNetworkOptimizerAndRecord() throws {
    var network = try Network(architecture: .lenet5(classes: 10), seed: 2)
    var optimizer = Adam(learningRate: 0.001)
    let images = ImageBatch(
      shape: network.architecture.input,
      pixels: (0..<(4 * 784)).map { Float($0 % 97) / 97 }, labels: [0, 1, 2, 3])
    try optimizer.update(&network, with: network.lossAndGradients(images, parameterGradients: true))
    let settings = TrainingCheckpoint.Settings(
      data: "tiny", seed: 2, batchSize: 4, optimizer: "adam lr=0.001")
    let epoch = TrainingCheckpoint.Epoch(
      epoch: 0, loss: 2.3, accuracy: 0.25, validationAccuracy: nil, seconds: 0.1)
    let url = temporaryFile("checkpoint.safetensors")
    try TrainingCheckpoint(
      settings: settings, network: network, optimizerState: optimizer.state, epochs: [epoch]
    ).write(to: url)
    let loaded = try TrainingCheckpoint(contentsOf: url)
    #expect(loaded.settings == settings)
    #expect(loaded.epochs == [epoch])
    #expect(loaded.optimizerState == optimizer.state)
    #expect(
      loaded.network.namedParameters().map(\.values) == network.namedParameters().map(\.values))
    // A plain model file is not a checkpoint.
    try network.write(to: url)
    #expect(throws: FormatError.self) { try TrainingCheckpoint(contentsOf: url) }
  }

  /// A schedule sets each epoch's rate from the epoch alone: a drop to 0 stops learning, and a
  /// run resumed across the milestone ends as the uninterrupted one.
  @Test func learningRateScheduleHoldsAcrossResume() throws {
    let data = Fixtures.halves(count: 48, seed: 3)
    let trainer = Trainer(batchSize: 16, seed: 5)
    let settings = TrainingCheckpoint.Settings(
      data: "halves", seed: 4, batchSize: 16, optimizer: "adam lr=0.01 milestones=1 gamma=0")
    let frozen = LearningRateSchedule(milestones: [1], gamma: 0)
    func run(epochs: Int, checkpoint: URL?, schedule: LearningRateSchedule?) throws -> [Float] {
      try trainer.train(
        Fixtures.halvesArchitecture, optimizer: Adam(learningRate: 0.01), data: data,
        validation: nil, epochs: epochs, settings: settings, checkpoint: checkpoint,
        schedule: schedule
      ).network.parameters
    }
    let one = try run(epochs: 1, checkpoint: nil, schedule: frozen)
    #expect(try run(epochs: 3, checkpoint: nil, schedule: frozen) == one)
    #expect(try run(epochs: 3, checkpoint: nil, schedule: nil) != one)

    let halved = LearningRateSchedule(milestones: [2, 1], gamma: 0.5)
    #expect(halved.milestones == [1, 2] && halved.factor(epoch: 0) == 1)
    #expect(halved.factor(epoch: 1) == 0.5 && halved.factor(epoch: 5) == 0.25)
    #expect(halved.description == "milestones=1,2 gamma=0.5")
    let straight = try run(epochs: 3, checkpoint: nil, schedule: halved)
    let url = temporaryFile("scheduled.ckpt")
    _ = try run(epochs: 2, checkpoint: url, schedule: halved)
    #expect(try run(epochs: 3, checkpoint: url, schedule: halved) == straight)
  }
}
