import BulwarkData

extension Network {
  /// The mean cross-entropy loss of `count` images and its gradients.
  /// - Parameters:
  ///   - pixels: NHWC values, `count` images of the architecture's input shape.
  ///   - count: The number of images.
  ///   - labels: The class each image's loss is measured against: true labels for training
  ///     and untargeted attacks, target labels for targeted ones.
  ///   - parameterGradients: False to skip the parameter gradients (attacks only need the
  ///     input gradient, and skip their cost).
  /// - Returns: Loss, logits, input gradient and, when requested, parameter gradients.
  /// - Throws: ``ModelError`` for a wrong value or label count, a label outside the classes,
  ///   or a NaN or infinite pixel.
  public func lossAndGradients(
    _ pixels: [Float], count: Int, labels: [Int], parameterGradients: Bool = true
  ) throws -> Gradients {
    try checkInput(pixels, count: count)
    try checkLabels(labels, count: count)
    return gradients(
      pixels, count: count, head: .crossEntropy(labels: labels), input: true,
      parameters: parameterGradients)
  }

  /// The mean cross-entropy loss of a batch and its gradients.
  /// - Parameters:
  ///   - batch: Images of the architecture's input shape.
  ///   - labels: The classes to measure the loss against; nil for the batch's labels. Pass
  ///     target labels for a targeted attack.
  ///   - parameterGradients: False to skip the parameter gradients.
  /// - Returns: Loss, logits, input gradient and, when requested, parameter gradients.
  /// - Throws: ``ModelError`` for a wrong image shape, label count or label, or a NaN or
  ///   infinite pixel.
  public func lossAndGradients(
    _ batch: ImageBatch, labels: [Int]? = nil, parameterGradients: Bool = true
  ) throws -> Gradients {
    try checkShape(batch)
    return try lossAndGradients(
      batch.pixels, count: batch.count, labels: labels ?? batch.labels,
      parameterGradients: parameterGradients)
  }

  /// Backpropagates a gradient given on the logits (for a loss computed elsewhere).
  /// - Parameters:
  ///   - pixels: NHWC values, `count` images of the architecture's input shape.
  ///   - count: The number of images.
  ///   - logitGradient: `count x classes` values, row-major.
  ///   - parameterGradients: False to skip the parameter gradients.
  /// - Returns: Logits, input gradient and, when requested, parameter gradients; loss 0.
  /// - Throws: ``ModelError`` for a wrong value count or a non-finite value.
  public func backpropagate(
    _ pixels: [Float], count: Int, logitGradient: [Float], parameterGradients: Bool = true
  ) throws -> Gradients {
    try checkInput(pixels, count: count)
    try checkLogitGradient(logitGradient, count: count)
    return gradients(
      pixels, count: count, head: .upstream(logitGradient), input: true,
      parameters: parameterGradients)
  }

  func gradients(
    _ pixels: [Float], count: Int, head: LossHead, input: Bool, parameters: Bool,
    mode: Mode = .evaluation, klWeight: Double = 0
  ) -> Gradients {
    let result = pass(
      pixels: pixels, count: count, head: head, wantsInputGradient: input,
      wantsParameterGradients: parameters, mode: mode, klWeight: klWeight)
    return Gradients(
      loss: result.loss, logits: result.logits, input: result.inputGradient,
      batchStatistics: result.batchStatistics, flatParameters: result.parameterGradients,
      tensors: tensors)
  }
}
