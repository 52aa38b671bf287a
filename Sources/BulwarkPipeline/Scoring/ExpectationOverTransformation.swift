import BulwarkData
import BulwarkDefenses
import BulwarkModel

/// A defended pipeline as an attacker who knows its randomness attacks it: expectation over
/// transformation (EOT, Athalye, Carlini and Wagner 2018). Its gradients are the mean of the
/// pipeline's gradients over `samples` draws of its randomised preprocessors; its forward pass
/// (logits, probabilities) is the pipeline's own, so an attack is judged by what the defended
/// pipeline really answers.
///
/// Draw `k` of a call runs the preprocessors reseeded with `Preprocessor.reseeded(pass:)` for a
/// pass derived from the batch's pixels and `k`: the draws are reproducible (the same input
/// gives the same draws), and they change from one attack step to the next as the input does.
/// With one sample the gradient is the plain gradient of that one draw; a deterministic
/// pipeline gives its own gradient for any number of samples.
public struct ExpectationOverTransformation: Classifier {
  /// The pipeline under attack.
  public var pipeline: Pipeline
  /// Draws of the randomised stages averaged per gradient (K).
  public var samples: Int

  /// Wraps a pipeline.
  /// - Parameters:
  ///   - pipeline: The pipeline under attack.
  ///   - samples: Draws per gradient, at least 1.
  /// - Precondition: `samples >= 1`.
  public init(_ pipeline: Pipeline, samples: Int) {
    precondition(samples >= 1, "EOT needs at least one sample")
    self.pipeline = pipeline
    self.samples = samples
  }

  /// The pipeline's input shape.
  public var inputShape: ImageShape { pipeline.inputShape }

  /// The pipeline's class count.
  public var classCount: Int { pipeline.classCount }

  /// The pipeline's: false with detectors.
  public var abstentionIsAttackSuccess: Bool { pipeline.abstentionIsAttackSuccess }

  /// The pipeline's (its detectors read the images before any randomised stage).
  /// - Parameter batch: Images of the pipeline's input shape.
  /// - Returns: The evasion, or nil without a differentiable detector.
  /// - Throws: The detectors' and the classifier's errors.
  public func evasion(_ batch: ImageBatch) throws -> DetectorEvasion? {
    try pipeline.evasion(batch)
  }

  /// The pipeline's own logits (see `Pipeline.logits(_:)`).
  /// - Parameter batch: Images of the pipeline's input shape.
  /// - Returns: `batch.count x classCount` values, row-major.
  /// - Throws: Errors from the stages or the classifier.
  public func logits(_ batch: ImageBatch) throws -> [Float] {
    try pipeline.logits(batch)
  }

  /// The pipeline's own defended probabilities.
  /// - Parameter batch: Images of the pipeline's input shape.
  /// - Returns: `batch.count x classCount` values, row-major.
  /// - Throws: Errors from the stages or the classifier.
  public func probabilities(_ batch: ImageBatch) throws -> [Float] {
    try pipeline.probabilities(batch)
  }

  /// The mean over the draws of the loss and its input gradient.
  /// - Parameters:
  ///   - batch: Images of the pipeline's input shape.
  ///   - labels: One class per image.
  /// - Returns: The mean loss and gradient.
  /// - Throws: Errors from the stages or the classifier.
  public func lossGradient(_ batch: ImageBatch, labels: [Int]) throws -> (
    loss: Double, input: [Float]
  ) {
    try mean(over: batch) { try $0.lossGradient(batch, labels: labels) }
  }

  /// The mean over the draws of the input gradient of a loss given on the logits.
  /// - Parameters:
  ///   - batch: Images of the pipeline's input shape.
  ///   - logitGradient: `batch.count x classCount` finite values.
  /// - Returns: The mean gradient.
  /// - Throws: Errors from the stages or the classifier.
  public func inputGradient(_ batch: ImageBatch, logitGradient: [Float]) throws -> [Float] {
    try mean(over: batch) { (0, try $0.inputGradient(batch, logitGradient: logitGradient)) }
      .input
  }

  /// The pipeline's own logits and the mean over the draws of the input gradient of a loss
  /// given per row on each draw's logits.
  /// - Parameters:
  ///   - batch: Images of the pipeline's input shape.
  ///   - rowGradient: Computes each image's gradient on its logits.
  /// - Returns: The logits and the mean gradient.
  /// - Throws: Errors from the stages or the classifier.
  public func logitsAndInputGradient(
    _ batch: ImageBatch, rowGradient: @escaping LogitRowGradient
  ) throws -> (logits: [Float], input: [Float]) {
    guard pipeline.preprocessing.isRandomized else {
      return try pipeline.logitsAndInputGradient(batch, rowGradient: rowGradient)
    }
    let gradient = try mean(over: batch) {
      (0, try $0.logitsAndInputGradient(batch, rowGradient: rowGradient).input)
    }
    return (try pipeline.logits(batch), gradient.input)
  }

  /// The pipeline as draw `k` of a call on `batch` runs it.
  func draw(_ k: Int, for batch: ImageBatch) -> Pipeline {
    guard pipeline.preprocessing.isRandomized else { return pipeline }
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for value in batch.pixels { hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01b3 }
    // Passes from 1: pass 0 is the pipeline as configured, which the forward pass uses.
    let pass = 1 + Int(hash % 1_000_000) * samples + k
    var drawn = pipeline
    drawn.preprocessors = pipeline.preprocessors.map { $0.reseeded(pass: pass) }
    return drawn
  }

  private func mean(
    over batch: ImageBatch, _ gradient: (Pipeline) throws -> (loss: Double, input: [Float])
  ) throws -> (loss: Double, input: [Float]) {
    var loss = 0.0
    var total = [Float](repeating: 0, count: batch.pixels.count)
    let draws = pipeline.preprocessing.isRandomized ? samples : 1
    for k in 0..<draws {
      let result = try gradient(draw(k, for: batch))
      loss += result.loss
      for index in total.indices { total[index] += result.input[index] }
    }
    let share = 1 / Float(draws)
    return (loss / Double(draws), total.map { $0 * share })
  }
}
