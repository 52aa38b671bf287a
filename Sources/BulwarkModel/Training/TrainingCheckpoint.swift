import BulwarkData
import Foundation

/// A training run saved after an epoch, so that an interrupted run resumes where it stopped and
/// ends with exactly the network an uninterrupted run would give.
///
/// The file is a Bulwark model file (safetensors) whose tensors are the network's, plus the
/// optimiser's state under `optimizer.` names; its metadata records the run's settings and the
/// reports of the finished epochs. It is written atomically after every epoch.
public struct TrainingCheckpoint: Sendable {
  /// What fixes a run: a checkpoint only resumes a run with the same settings.
  public struct Settings: Codable, Equatable, Sendable {
    /// The data the network is trained on, as the user named it.
    public var data: String
    /// The seed of the initial weights and of every epoch's shuffle.
    public var seed: UInt64
    /// Images per step.
    public var batchSize: Int
    /// The optimiser and its hyperparameters (`adam lr=0.001`).
    public var optimizer: String
    /// The adversarial training method and its parameters (`pgd eps=0.1 steps=7 step=0.025`);
    /// nil for standard training (and in checkpoints written before adversarial training).
    public var adversarial: String?
    /// The weight of a variational autoencoder's KL term (``Trainer/klWeight``); nil for other
    /// networks (and in checkpoints written before variational autoencoders).
    public var klWeight: Double?

    /// Creates run settings.
    /// - Parameters:
    ///   - data: The training data, as named by the user.
    ///   - seed: The seed of the weights and shuffles.
    ///   - batchSize: Images per step.
    ///   - optimizer: The optimiser and its hyperparameters.
    ///   - adversarial: The adversarial training method, if any.
    ///   - klWeight: A variational autoencoder's KL weight, if any.
    public init(
      data: String, seed: UInt64, batchSize: Int, optimizer: String,
      adversarial: AdversarialTraining? = nil, klWeight: Double? = nil
    ) {
      self.data = data
      self.seed = seed
      self.batchSize = batchSize
      self.optimizer = optimizer
      self.adversarial = adversarial?.description
      self.klWeight = klWeight
    }
  }

  /// One finished epoch, as recorded in the checkpoint.
  public struct Epoch: Codable, Equatable, Sendable {
    /// The epoch's index, from 0.
    public var epoch: Int
    /// Mean training loss.
    public var loss: Double
    /// Training accuracy on clean images.
    public var accuracy: Double
    /// Training accuracy on the adversarial images, with adversarial training.
    public var adversarialAccuracy: Double?
    /// Accuracy on the validation data, if any.
    public var validationAccuracy: Double?
    /// Wall-clock seconds.
    public var seconds: Double

    /// Records a finished epoch.
    /// - Parameters:
    ///   - epoch: The epoch's index, from 0.
    ///   - loss: Mean training loss.
    ///   - accuracy: Training accuracy on clean images.
    ///   - adversarialAccuracy: Training accuracy on adversarial images, if any.
    ///   - validationAccuracy: Accuracy on the validation data, if any.
    ///   - seconds: Wall-clock seconds.
    public init(
      epoch: Int, loss: Double, accuracy: Double, adversarialAccuracy: Double? = nil,
      validationAccuracy: Double?, seconds: Double
    ) {
      self.epoch = epoch
      self.loss = loss
      self.accuracy = accuracy
      self.adversarialAccuracy = adversarialAccuracy
      self.validationAccuracy = validationAccuracy
      self.seconds = seconds
    }
  }

  private struct Record: Codable {
    var settings: Settings
    var epochs: [Epoch]
  }

  /// The metadata key holding the run's settings and finished epochs.
  static let metadataKey = "bulwark.training"
  /// The prefix of the optimiser's state tensors.
  static let optimizerPrefix = "optimizer."

  /// The run's settings.
  public var settings: Settings
  /// The network after the last finished epoch.
  public var network: Network
  /// The optimiser's state after the last finished epoch.
  public var optimizerState: [String: [Float]]
  /// The finished epochs, in order.
  public var epochs: [Epoch]

  /// Creates a checkpoint.
  /// - Parameters:
  ///   - settings: The run's settings.
  ///   - network: The network after the last finished epoch.
  ///   - optimizerState: The optimiser's state then.
  ///   - epochs: The finished epochs.
  public init(
    settings: Settings, network: Network, optimizerState: [String: [Float]], epochs: [Epoch]
  ) {
    self.settings = settings
    self.network = network
    self.optimizerState = optimizerState
    self.epochs = epochs
  }

  /// Reads a checkpoint.
  /// - Parameters:
  ///   - url: The checkpoint file.
  ///   - options: Threads for the network.
  /// - Throws: `FormatError` for a file that is not a Bulwark checkpoint or is damaged.
  public init(contentsOf url: URL, options: ComputeOptions = .init()) throws {
    var file = try SafeTensorsFile(contentsOf: url)
    guard let json = file.metadata[Self.metadataKey],
      let record = try? JSONDecoder().decode(Record.self, from: Data(json.utf8))
    else {
      throw FormatError(
        file: url.path, location: .field("__metadata__.\(Self.metadataKey)"),
        expected: "a training record (a checkpoint written by 'bulwark train --checkpoint')",
        found: file.metadata[Self.metadataKey] == nil ? "no such key" : "an unreadable record")
    }
    var state: [String: [Float]] = [:]
    for name in file.names where name.hasPrefix(Self.optimizerPrefix) {
      state[String(name.dropFirst(Self.optimizerPrefix.count))] = try file.floats(named: name)
      file[name] = nil
    }
    settings = record.settings
    epochs = record.epochs
    optimizerState = state
    network = try Network(safeTensors: file, options: options)
  }

  /// Writes the checkpoint atomically.
  /// - Parameter url: The destination.
  /// - Throws: File-system errors.
  public func write(to url: URL) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let record = String(
      decoding: try encoder.encode(Record(settings: settings, epochs: epochs)), as: UTF8.self)
    var file = network.safeTensorsFile(metadata: [Self.metadataKey: record])
    for (name, values) in optimizerState.sorted(by: { $0.key < $1.key }) {
      file[Self.optimizerPrefix + name] = SafeTensor(values, shape: [values.count])
    }
    try file.write(to: url)
  }
}
