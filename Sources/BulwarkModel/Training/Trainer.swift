import BulwarkCore
import BulwarkData

/// Mini-batch training: shuffles the data with a seed per epoch, then takes one optimiser step
/// per batch. The same seed gives the same network whatever the thread count, and epoch `e`
/// shuffles the same way whether or not training was resumed before it.
public struct Trainer: Sendable {
  /// Images per step.
  public var batchSize: Int
  /// The seed of every epoch's shuffle.
  public var seed: UInt64

  /// Creates a trainer.
  /// - Parameters:
  ///   - batchSize: Images per step.
  ///   - seed: The seed of the shuffles.
  /// - Precondition: `batchSize > 0`.
  public init(batchSize: Int = 64, seed: UInt64) {
    precondition(batchSize > 0, "batch size must be positive")
    self.batchSize = batchSize
    self.seed = seed
  }

  /// The order in which epoch `epoch` visits `count` images.
  /// - Parameters:
  ///   - epoch: The epoch's index.
  ///   - count: The number of images.
  /// - Returns: A permutation of `0..<count`.
  public func order(epoch: Int, count: Int) -> [Int] {
    var generator = SeededGenerator(seed: seed, stream: UInt64(epoch))
    var order = Array(0..<count)
    generator.shuffle(&order)
    return order
  }

  /// Trains for one epoch over `data`.
  /// - Parameters:
  ///   - epoch: The epoch's index, from 0; selects the shuffle.
  ///   - network: The network to train.
  ///   - optimizer: The optimiser, whose state carries over between epochs.
  ///   - data: The training images and labels.
  ///   - progress: Called after each step with the images done so far.
  /// - Returns: Loss, accuracy and speed of the epoch.
  /// - Throws: ``ModelError`` if the data do not fit the network (shape, classes, NaN).
  public func runEpoch(
    _ epoch: Int, network: inout Network, optimizer: inout some Optimizer, data: ImageBatch,
    progress: ((Int) -> Void)? = nil
  ) throws -> EpochReport {
    try network.checkShape(data)
    try network.checkInput(data.pixels, count: data.count)
    try network.checkLabels(data.labels, count: data.count)
    let clock = ContinuousClock()
    let start = clock.now
    let order = order(epoch: epoch, count: data.count)
    var lossSum = 0.0
    var correct = 0
    var done = 0
    let classes = network.architecture.classes
    while done < data.count {
      let batch = data.selecting(order[done..<min(done + batchSize, data.count)])
      let gradients = network.gradients(
        batch.pixels, count: batch.count, head: .crossEntropy(labels: batch.labels),
        input: false, parameters: true)
      try optimizer.update(&network, with: gradients)
      lossSum += gradients.loss * Double(batch.count)
      let predicted = Network.argmax(gradients.logits, classes: classes)
      correct += zip(predicted, batch.labels).filter { $0 == $1 }.count
      done += batch.count
      progress?(done)
    }
    let seconds = (clock.now - start).inSeconds
    let count = Double(max(data.count, 1))
    return EpochReport(
      epoch: epoch, loss: lossSum / count, accuracy: Double(correct) / count,
      imagesPerSecond: seconds > 0 ? Double(data.count) / seconds : 0, seconds: seconds)
  }
}
