import BulwarkCore
import BulwarkData

/// How adversarial training makes the images a step learns from. Every example is made against
/// the current weights in evaluation mode (running batch-norm statistics, no dropout), as the
/// references do, and the step then trains on it in training mode.
public enum AdversarialTraining: Equatable, Sendable, CustomStringConvertible {
  /// Madry et al. (2018): train on L-infinity PGD examples from a uniform random start.
  case pgd(epsilon: Float, steps: Int, stepSize: Float)
  /// Wong et al. (2020), "fast is better than free": one FGSM step of `stepSize` (1.25 ε in
  /// the paper) from a uniform random start, projected back onto the ε-ball.
  case fgsmRandomStart(epsilon: Float, stepSize: Float)
  /// MindSpore Armour's `NaturalAdversarialDefense`: a random `ratio` of each batch
  /// (`ceil(ratio x batch)` images) is replaced by its FGSM examples (step ε from the clean
  /// image), and the step trains on the mixed batch.
  case natural(epsilon: Float, ratio: Double)
  /// TRADES (Zhang et al. 2019): cross-entropy on the clean images plus `beta` times the
  /// KL divergence from the clean to the adversarial output distribution, the adversarial
  /// images found by `steps` signed-gradient steps that maximise that divergence from a start
  /// 0.001 N(0, 1) away.
  case trades(epsilon: Float, steps: Int, stepSize: Float, beta: Double)

  /// The method's command-line name and parameters, as recorded in checkpoints and model files
  /// (`pgd eps=0.1 steps=7 step=0.025`).
  public var description: String {
    switch self {
    case .pgd(let epsilon, let steps, let stepSize):
      "pgd eps=\(epsilon) steps=\(steps) step=\(stepSize)"
    case .fgsmRandomStart(let epsilon, let stepSize):
      "fgsm-rs eps=\(epsilon) step=\(stepSize)"
    case .natural(let epsilon, let ratio):
      "nad eps=\(epsilon) ratio=\(ratio)"
    case .trades(let epsilon, let steps, let stepSize, let beta):
      "trades eps=\(epsilon) steps=\(steps) step=\(stepSize) beta=\(beta)"
    }
  }

  /// The radius of the examples' L-infinity ball.
  public var epsilon: Float {
    switch self {
    case .pgd(let epsilon, _, _), .fgsmRandomStart(let epsilon, _), .natural(let epsilon, _),
      .trades(let epsilon, _, _, _):
      epsilon
    }
  }

  /// Checks the parameters.
  /// - Throws: ``ModelError`` naming the parameter for a negative or non-finite ε or step, a
  ///   step count below 1, a ratio outside (0, 1] or a negative β.
  public func check() throws {
    func positive(_ value: Float, _ name: String) throws {
      guard value.isFinite, value > 0 else {
        throw ModelError(field: name, expected: "a finite value > 0", found: "\(value)")
      }
    }
    try positive(epsilon, "adversarial epsilon")
    switch self {
    case .pgd(_, let steps, let stepSize), .trades(_, let steps, let stepSize, _):
      guard steps >= 1 else {
        throw ModelError(field: "adversarial steps", expected: "a count >= 1", found: "\(steps)")
      }
      try positive(stepSize, "adversarial step size")
    case .fgsmRandomStart(_, let stepSize):
      try positive(stepSize, "adversarial step size")
    case .natural(_, let ratio):
      guard ratio > 0, ratio <= 1 else {
        throw ModelError(
          field: "adversarial ratio", expected: "a ratio in (0, 1]", found: "\(ratio)")
      }
    }
    if case .trades(_, _, _, let beta) = self, !(beta >= 0 && beta.isFinite) {
      throw ModelError(field: "TRADES beta", expected: "a finite value >= 0", found: "\(beta)")
    }
  }

  /// TRADES's inner maximisation: images in the ε-ball around `batch` that raise the KL
  /// divergence of `network`'s output from its output on the clean images.
  /// - Parameters:
  ///   - batch: The clean images.
  ///   - network: The network, used in evaluation mode.
  ///   - epsilon: The L-infinity radius.
  ///   - steps: Signed-gradient steps.
  ///   - stepSize: The size of each step.
  ///   - seed: The seed of the start's Gaussian noise.
  /// - Returns: The adversarial images, with the batch's labels.
  /// - Throws: ``ModelError`` from the network.
  static func tradesExamples(
    _ batch: ImageBatch, network: Network, epsilon: Float, steps: Int, stepSize: Float,
    seed: UInt64
  ) throws -> ImageBatch {
    let classes = network.architecture.classes
    let clean = Network.softmax(try network.logits(batch), classes: classes)
    var generator = SeededGenerator(seed: seed)
    var pixels = batch.pixels.map { min(max($0 + Float(0.001 * generator.gaussian()), 0), 1) }
    let ball = PerturbationBall(norm: .infinity, epsilon: epsilon)
    for _ in 0..<steps {
      let current = batch.replacingPixels(pixels)
      // d KL(clean || adversarial) / d adversarial logits = softmax(adversarial) - clean.
      let gradient = try network.logitsAndInputGradient(current) { row, logits, gradient in
        let probabilities = Network.softmax(Array(logits), classes: classes)
        for column in 0..<classes {
          gradient[column] = probabilities[column] - clean[row * classes + column]
        }
      }.input
      let step = ball.step(
        along: gradient, scale: stepSize, imageSize: batch.shape.valueCount)
      for index in pixels.indices { pixels[index] += step[index] }
      ball.project(&pixels, around: batch.pixels, imageSize: batch.shape.valueCount)
    }
    return batch.replacingPixels(pixels)
  }
}
