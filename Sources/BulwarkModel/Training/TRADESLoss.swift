import BulwarkData
import Foundation

/// The TRADES objective (Zhang et al. 2019) and its parameter gradient:
/// `mean CE(f(x), y) + β mean KL(softmax f(x) || softmax f(x'))`, the gradient flowing through
/// both the clean and the adversarial outputs.
///
/// The reference implementation computes `f(x)` twice (once per term); here one clean pass
/// serves both terms, which differs only when dropout is active (one mask instead of two).
public enum TRADESLoss {
  /// The loss of a clean batch and its adversarial twin, and its gradients.
  /// - Parameters:
  ///   - network: The network.
  ///   - clean: The clean images and their labels.
  ///   - adversarial: The adversarial images, as many as `clean`.
  ///   - beta: The weight of the KL term.
  ///   - cleanMode: The mode of the clean pass.
  ///   - adversarialMode: The mode of the adversarial pass (use a different training seed
  ///     from the clean pass's, as two separate PyTorch calls draw different dropout masks).
  /// - Returns: The loss, its parameter gradients (with the clean logits), the adversarial
  ///   logits, and the batch statistics of the clean then the adversarial pass, to apply in
  ///   that order.
  /// - Throws: ``ModelError`` for images that do not fit the network or a count mismatch.
  public static func lossAndGradients(
    network: Network, clean: ImageBatch, adversarial: ImageBatch, beta: Double,
    cleanMode: Network.Mode = .evaluation, adversarialMode: Network.Mode = .evaluation
  ) throws -> (
    gradients: Gradients, adversarialLogits: [Float], batchStatistics: [[String: [Float]]]
  ) {
    guard adversarial.count == clean.count else {
      throw ModelError(
        field: "adversarial", expected: "\(clean.count) images", found: "\(adversarial.count)")
    }
    let classes = network.architecture.classes
    let count = clean.count
    let scale = 1 / Double(max(count, 1))
    // The adversarial logits first: the clean pass's gradient depends on them.
    let adversarialPass = try network.logits(adversarial, mode: adversarialMode)
    let adversarialLogits = adversarialPass.logits
    let adversarialLog = logSoftmax(adversarialLogits, classes: classes)
    let labels = clean.labels
    try network.checkLabels(labels, count: count)
    let cleanGradients = try network.lossAndGradients(
      clean,
      perRow: { row, logits, gradient in
        let cleanLog = logSoftmax(Array(logits), classes: classes)
        var divergence = 0.0
        for column in 0..<classes {
          divergence +=
            exp(cleanLog[column]) * (cleanLog[column] - adversarialLog[row * classes + column])
        }
        for column in 0..<classes {
          let probability = exp(cleanLog[column])
          let crossEntropy = probability - (column == labels[row] ? 1 : 0)
          let kl =
            probability
            * (cleanLog[column] - adversarialLog[row * classes + column] - divergence)
          gradient[column] = Float(scale * (crossEntropy + beta * kl))
        }
      }, mode: cleanMode)
    // The clean probabilities, for the adversarial pass's gradient and the loss.
    let cleanLog = logSoftmax(cleanGradients.logits, classes: classes)
    var loss = 0.0
    var adversarialGradient = [Float](repeating: 0, count: count * classes)
    for row in 0..<count {
      loss -= cleanLog[row * classes + labels[row]]
      for column in 0..<classes {
        let index = row * classes + column
        let probability = exp(cleanLog[index])
        loss += beta * probability * (cleanLog[index] - adversarialLog[index])
        adversarialGradient[index] = Float(
          scale * beta * (exp(adversarialLog[index]) - probability))
      }
    }
    var gradients = try network.lossAndGradients(
      adversarial, logitGradient: adversarialGradient, mode: adversarialMode,
      inputGradient: false)
    for index in gradients.flatParameters.indices {
      gradients.flatParameters[index] += cleanGradients.flatParameters[index]
    }
    gradients.loss = loss * scale
    gradients.logits = cleanGradients.logits
    gradients.batchStatistics = [:]
    return (
      gradients, adversarialLogits,
      [cleanGradients.batchStatistics, adversarialPass.batchStatistics]
    )
  }

  /// Row-wise log-softmax in Double.
  static func logSoftmax(_ logits: [Float], classes: Int) -> [Double] {
    var result = [Double](repeating: 0, count: logits.count)
    for start in stride(from: 0, to: logits.count, by: classes) {
      var largest = -Double.infinity
      for column in 0..<classes { largest = max(largest, Double(logits[start + column])) }
      var sum = 0.0
      for column in 0..<classes { sum += exp(Double(logits[start + column]) - largest) }
      let logSum = largest + log(sum)
      for column in 0..<classes { result[start + column] = Double(logits[start + column]) - logSum }
    }
    return result
  }
}
