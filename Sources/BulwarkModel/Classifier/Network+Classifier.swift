import BulwarkData

extension Network: Classifier {
  /// The architecture's input shape.
  public var inputShape: ImageShape { architecture.input }

  /// The architecture's class count.
  public var classCount: Int { architecture.classes }

  /// The loss of `labels` and its input gradient, without parameter gradients.
  /// - Parameters:
  ///   - batch: Images of the architecture's input shape.
  ///   - labels: One class per image.
  /// - Returns: The mean cross-entropy and its gradient with respect to the pixels.
  /// - Throws: `ModelError` for a wrong shape, NaN values or labels out of range.
  public func lossGradient(_ batch: ImageBatch, labels: [Int]) throws -> (
    loss: Double, input: [Float]
  ) {
    let gradients = try lossAndGradients(batch, labels: labels, parameterGradients: false)
    return (gradients.loss, gradients.input)
  }

  /// The input gradient of a loss given by its gradient on the logits, without parameter
  /// gradients.
  /// - Parameters:
  ///   - batch: Images of the architecture's input shape.
  ///   - logitGradient: `batch.count x classes` finite values, row-major.
  /// - Returns: One gradient value per pixel value, NHWC.
  /// - Throws: `ModelError` for a wrong shape, NaN values or a gradient of another size.
  public func inputGradient(_ batch: ImageBatch, logitGradient: [Float]) throws -> [Float] {
    try checkShape(batch)
    return try backpropagate(
      batch.pixels, count: batch.count, logitGradient: logitGradient, parameterGradients: false
    ).input
  }

  /// The logits and the input gradient of a loss given per row on them, in one pass.
  /// - Parameters:
  ///   - batch: Images of the architecture's input shape.
  ///   - rowGradient: Computes each image's gradient on its logits.
  /// - Returns: The logits and one gradient value per pixel value, NHWC.
  /// - Throws: `ModelError` for a wrong shape or NaN values.
  public func logitsAndInputGradient(_ batch: ImageBatch, rowGradient: @escaping LogitRowGradient)
    throws -> (
      logits: [Float], input: [Float]
    )
  {
    try checkShape(batch)
    try checkInput(batch.pixels, count: batch.count)
    let result = pass(
      pixels: batch.pixels, count: batch.count, head: .perRow(rowGradient),
      wantsInputGradient: true, wantsParameterGradients: false)
    return (result.logits, result.inputGradient)
  }
}
