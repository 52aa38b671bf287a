import BulwarkCore
import BulwarkData

/// Throughput measurements of a network on random images, for `bulwark bench model`.
/// Run them in a release build.
public enum ModelBenchmark {
  /// A throughput measurement.
  public struct Measurement: Equatable, Sendable {
    /// The median images per second over the timed runs.
    public var imagesPerSecond: Double
    /// The timed runs (after one warm-up).
    public var runs: Int
    /// The sum of the outputs, kept so the work cannot be optimised away.
    public var checksum: Float
  }

  /// Measures forward throughput: logits of a batch of uniform random images.
  /// - Parameters:
  ///   - network: The network; its thread setting is replaced by `threads`.
  ///   - batchSize: Images per forward pass.
  ///   - threads: Threads to use.
  ///   - minimumSeconds: Keep timing runs (at least 3) until this much time has passed.
  /// - Returns: The median rate and a checksum of the logits.
  public static func measureForward(
    network: Network, batchSize: Int = 256, threads: Int, minimumSeconds: Double = 1
  ) -> Measurement {
    var network = network
    network.options = ComputeOptions(threads: threads)
    let pixels = randomPixels(network.architecture.input.valueCount * batchSize)
    return measure(batchSize: batchSize, minimumSeconds: minimumSeconds) {
      network.pass(
        pixels: pixels, count: batchSize, head: nil, wantsInputGradient: false,
        wantsParameterGradients: false
      ).logits.reduce(0, +)
    }
  }

  /// Measures any classifier (a `.safetensors` network or an ONNX model) on a batch of uniform
  /// random images: forward (the logits), or forward and backward (the cross-entropy loss and
  /// its gradient with respect to the input, what a gradient attack asks for at each step).
  /// - Parameters:
  ///   - classifier: The classifier, loaded with the threads to use.
  ///   - batchSize: Images per pass.
  ///   - inputGradient: Whether to time forward and backward instead of forward alone.
  ///   - minimumSeconds: Keep timing runs (at least 3) until this much time has passed.
  /// - Returns: The median rate and a checksum of the outputs.
  /// - Throws: Errors from the classifier.
  public static func measureClassifier(
    _ classifier: any Classifier, batchSize: Int = 256, inputGradient: Bool,
    minimumSeconds: Double = 1
  ) throws -> Measurement {
    let batch = randomBatch(
      classifier.inputShape, count: batchSize, classes: classifier.classCount)
    return try measure(batchSize: batchSize, minimumSeconds: minimumSeconds) {
      guard inputGradient else { return try classifier.logits(batch).reduce(0, +) }
      return try classifier.lossGradient(batch, labels: batch.labels).input.reduce(0, +)
    }
  }

  /// Measures training throughput: forward, backward and an SGD step with momentum on a batch
  /// of random images and labels, repeated on a copy of the network.
  /// - Parameters:
  ///   - network: The network; its thread setting is replaced by `threads`.
  ///   - batchSize: Images per step.
  ///   - threads: Threads to use.
  ///   - minimumSeconds: Keep timing runs (at least 3) until this much time has passed.
  /// - Returns: The median rate and a checksum of the losses.
  public static func measureTraining(
    network: Network, batchSize: Int = 64, threads: Int, minimumSeconds: Double = 1
  ) -> Measurement {
    var network = network
    network.options = ComputeOptions(threads: threads)
    let pixels = randomPixels(network.architecture.input.valueCount * batchSize)
    let labels = (0..<batchSize).map { $0 % network.architecture.classes }
    var optimizer = SGD(learningRate: 0.001, momentum: 0.9)
    return measure(batchSize: batchSize, minimumSeconds: minimumSeconds) {
      let gradients = network.gradients(
        pixels, count: batchSize, head: .crossEntropy(labels: labels), input: false,
        parameters: true)
      // Gradients computed here always fit the network.
      try? optimizer.update(&network, with: gradients)
      return Float(gradients.loss)
    }
  }

  /// Measures adversarial-training throughput: steps of Madry PGD training (PGD-7, ε 0.1, step
  /// 0.025, random start; the examples made in evaluation mode, then a training-mode step with
  /// Adam), as `bulwark train --adversarial pgd` takes them, on a copy of the network.
  /// - Parameters:
  ///   - network: The network; its thread setting is replaced by `threads`.
  ///   - batchSize: Images per step.
  ///   - threads: Threads to use.
  ///   - minimumSeconds: Keep timing runs (at least 3) until this much time has passed.
  /// - Returns: The median rate and a checksum of the losses.
  public static func measureAdversarialTraining(
    network: Network, batchSize: Int = 128, threads: Int, minimumSeconds: Double = 1
  ) -> Measurement {
    var network = network
    network.options = ComputeOptions(threads: threads)
    let batch = randomBatch(
      network.architecture.input, count: batchSize, classes: network.architecture.classes)
    let trainer = Trainer(
      batchSize: batchSize, seed: 0, adversarial: .pgd(epsilon: 0.1, steps: 7, stepSize: 0.025))
    var optimizer = Adam(learningRate: 0.001)
    var step = 0
    return measure(batchSize: batchSize, minimumSeconds: minimumSeconds) {
      step += 1
      // Random images of the network's shape always fit it.
      let outcome = try? trainer.step(
        batch, network: &network, optimizer: &optimizer, seed: UInt64(step))
      return Float(outcome?.lossSum ?? 0)
    }
  }

  /// Seeded uniform random images with labels cycling through the classes.
  /// - Parameters:
  ///   - shape: The image shape.
  ///   - count: The number of images.
  ///   - classes: The class count.
  /// - Returns: The batch.
  public static func randomBatch(_ shape: ImageShape, count: Int, classes: Int) -> ImageBatch {
    ImageBatch(
      shape: shape, pixels: randomPixels(shape.valueCount * count),
      labels: (0..<count).map { $0 % classes }, classNames: (0..<classes).map { "\($0)" })
  }

  static func randomPixels(_ count: Int) -> [Float] {
    var generator = SeededGenerator(seed: 42)
    return (0..<count).map { _ in generator.unitFloat() }
  }

  static func measure(
    batchSize: Int, minimumSeconds: Double, _ run: () throws -> Float
  ) rethrows -> Measurement {
    let clock = ContinuousClock()
    var checksum = try run()
    var rates: [Double] = []
    let start = clock.now
    while rates.count < 3 || (clock.now - start).inSeconds < minimumSeconds {
      let runStart = clock.now
      checksum += try run()
      rates.append(Double(batchSize) / max((clock.now - runStart).inSeconds, 1e-9))
    }
    rates.sort()
    return Measurement(
      imagesPerSecond: rates[rates.count / 2], runs: rates.count, checksum: checksum)
  }

}
