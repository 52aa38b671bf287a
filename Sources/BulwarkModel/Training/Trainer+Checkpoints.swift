import BulwarkCore
import BulwarkData
import Foundation

extension Trainer {
  /// What a run of `train(_:optimizer:data:validation:epochs:settings:checkpoint:progress:)`
  /// reports while it works.
  public enum Progress: Sendable {
    /// A checkpoint of this run was found; training continues after its last epoch.
    case resumed(afterEpoch: Int, checkpoint: URL)
    /// A step of an epoch (from 0) finished; `total` is the epoch's image count.
    case step(epoch: Int, total: Int, StepProgress)
    /// An epoch finished, with its throughput.
    case finished(TrainingCheckpoint.Epoch, imagesPerSecond: Double)
  }

  /// What a training run produced.
  public struct Outcome: Sendable {
    /// The trained network.
    public var network: Network
    /// Every epoch, those of an earlier, interrupted run included.
    public var epochs: [TrainingCheckpoint.Epoch]
    /// The epochs a checkpoint had already finished (0 for a fresh run).
    public var resumedAfter: Int
  }

  /// Trains a network for `epochs` epochs, writing a checkpoint (network, optimiser state and
  /// finished epochs, atomically) after each one; a later call with the same checkpoint and
  /// settings continues after its last finished epoch and ends with the network an
  /// uninterrupted run gives (every epoch's shuffle depends only on the seed and the epoch).
  /// - Parameters:
  ///   - architecture: The network's architecture (a fresh network is seeded with
  ///     `settings.seed`).
  ///   - optimizer: The optimiser, fresh; a checkpoint restores its state.
  ///   - data: The training images.
  ///   - validation: Images whose accuracy is measured after each epoch, if any.
  ///   - epochs: The total number of epochs.
  ///   - settings: What identifies the run; a checkpoint of other settings is refused.
  ///   - checkpoint: The checkpoint file, or nil for none.
  ///   - options: Compute settings for the network.
  ///   - schedule: How the optimiser's learning rate (its rate as given is the base) drops by
  ///     epoch; nil keeps it.
  ///   - progress: Called as the run goes.
  /// - Returns: The network and every epoch's figures.
  /// - Throws: `ModelError` for a checkpoint of another run or architecture; errors from
  ///   training and from writing the checkpoint.
  public func train(
    _ architecture: Architecture, optimizer: some Optimizer, data: ImageBatch,
    validation: ImageBatch?, epochs: Int, settings: TrainingCheckpoint.Settings,
    checkpoint: URL?, options: ComputeOptions = .init(), schedule: LearningRateSchedule? = nil,
    progress: (Progress) -> Void = { _ in }
  ) throws -> Outcome {
    var optimizer = optimizer
    let baseRate = Double(optimizer.learningRate)
    var network: Network
    var finished: [TrainingCheckpoint.Epoch] = []
    if let checkpoint, FileManager.default.fileExists(atPath: checkpoint.path) {
      let saved = try TrainingCheckpoint(contentsOf: checkpoint, options: options)
      guard saved.settings == settings, saved.network.architecture == architecture else {
        throw ModelError(
          field: "checkpoint \(checkpoint.path)",
          expected: "a checkpoint of this run (\(settings))",
          found: "one made with \(saved.settings); delete it to start afresh")
      }
      network = saved.network
      try optimizer.restore(saved.optimizerState, for: network)
      finished = saved.epochs
      progress(.resumed(afterEpoch: finished.count, checkpoint: checkpoint))
    } else {
      network = try Network(architecture: architecture, seed: settings.seed, options: options)
    }
    let resumedAfter = finished.count
    for epoch in finished.count..<epochs {
      if let schedule {
        optimizer.learningRate = Float(baseRate * schedule.factor(epoch: epoch))
      }
      let report = try withoutActuallyEscaping(progress) { progress in
        try runEpoch(epoch, network: &network, optimizer: &optimizer, data: data) {
          progress(.step(epoch: epoch, total: data.count, $0))
        }
      }
      let validationAccuracy = try validation.map { validation in
        Double(try network.attackSucceeded(on: validation, targets: nil).count { !$0 })
          / Double(max(validation.count, 1))
      }
      let entry = TrainingCheckpoint.Epoch(
        epoch: epoch, loss: report.loss, accuracy: report.accuracy,
        adversarialAccuracy: report.adversarialAccuracy, validationAccuracy: validationAccuracy,
        seconds: report.seconds)
      finished.append(entry)
      if let checkpoint {
        try TrainingCheckpoint(
          settings: settings, network: network, optimizerState: optimizer.state, epochs: finished
        ).write(to: checkpoint)
      }
      progress(.finished(entry, imagesPerSecond: report.imagesPerSecond))
    }
    return Outcome(network: network, epochs: finished, resumedAfter: resumedAfter)
  }
}
