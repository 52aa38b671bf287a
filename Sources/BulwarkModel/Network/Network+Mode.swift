import BulwarkData

extension Network {
  /// How the layers that behave differently in training compute: batch normalisation, dropout
  /// and a variational autoencoder's sampling (PyTorch's `model.eval()` and `model.train()`).
  public enum Mode: Hashable, Sendable {
    /// What frozen use sees: batch norm normalises with its running statistics, dropout passes
    /// values unchanged, a sampling layer outputs its means.
    case evaluation
    /// Training: batch norm normalises with the batch's statistics (and reports them for
    /// ``Network/updateRunningStatistics(with:momentum:)``), dropout zeroes values at random
    /// and a sampling layer adds Gaussian noise, its masks and noise drawn from `seed` per layer
    /// and image.
    case training(seed: UInt64)
  }

  /// The loss and gradients of a batch in a given mode. Training steps use
  /// `.training(seed:)` with a fresh seed per step, then apply the returned batch statistics
  /// with ``updateRunningStatistics(with:momentum:)``; attacks use `.evaluation`.
  /// - Parameters:
  ///   - batch: Images of the architecture's input shape.
  ///   - labels: The classes to measure the cross-entropy against; nil for the batch's labels.
  ///   - logitGradient: A gradient on the logits (`count x classes`) to backpropagate instead
  ///     of the cross-entropy's, for a loss computed elsewhere; the reported loss is then 0.
  ///   - mode: Evaluation or training.
  ///   - inputGradient: False to skip the input gradient.
  /// - Returns: Loss, logits, gradients and, in training mode, the batch statistics.
  /// - Throws: ``ModelError`` for a wrong image shape, label or gradient count, a label outside
  ///   the classes, a non-finite value, or a training batch too small for batch statistics
  ///   (one value per channel).
  public func lossAndGradients(
    _ batch: ImageBatch, labels: [Int]? = nil, logitGradient: [Float]? = nil, mode: Mode,
    inputGradient: Bool = true
  ) throws -> Gradients {
    let head: LossHead
    if let logitGradient {
      try checkLogitGradient(logitGradient, count: batch.count)
      head = .upstream(logitGradient)
    } else {
      let labels = labels ?? batch.labels
      try checkLabels(labels, count: batch.count)
      head = .crossEntropy(labels: labels)
    }
    return try gradients(batch, head: head, mode: mode, inputGradient: inputGradient)
  }

  /// The gradients of a loss given per row on the logits, in a given mode, plus `klWeight`
  /// times each image's KL divergence of its sampling layers' Gaussians from `N(0, I)`; the
  /// reported loss is the mean of that term (the rows' loss is the caller's to add).
  func lossAndGradients(
    _ batch: ImageBatch, perRow rowGradient: @escaping LogitRowGradient, mode: Mode,
    inputGradient: Bool = false, klWeight: Double = 0
  ) throws -> Gradients {
    try gradients(
      batch, head: .perRow(rowGradient), mode: mode, inputGradient: inputGradient,
      klWeight: klWeight)
  }

  private func gradients(
    _ batch: ImageBatch, head: LossHead, mode: Mode, inputGradient: Bool, klWeight: Double = 0
  ) throws -> Gradients {
    try checkShape(batch)
    try checkInput(batch.pixels, count: batch.count)
    if case .training = mode, let plane = smallestBatchNormPlane(), batch.count * plane < 2 {
      throw ModelError(
        field: "batch", expected: "more than one value per batch-norm channel in training",
        found: "\(batch.count) image(s) of \(plane) value(s) per channel")
    }
    return gradients(
      batch.pixels, count: batch.count, head: head, input: inputGradient, parameters: true,
      mode: mode, klWeight: klWeight)
  }

  /// The logits of a batch in a given mode, with the batch statistics of training mode.
  /// - Parameters:
  ///   - batch: Images of the architecture's input shape.
  ///   - mode: Evaluation or training.
  /// - Returns: `count x classes` logits and, in training mode, each batch-norm layer's batch
  ///   statistics (as in ``Gradients/batchStatistics``).
  /// - Throws: ``ModelError`` for a wrong image shape or a non-finite value.
  public func logits(_ batch: ImageBatch, mode: Mode) throws -> (
    logits: [Float], batchStatistics: [String: [Float]]
  ) {
    try checkShape(batch)
    try checkInput(batch.pixels, count: batch.count)
    let result = pass(
      pixels: batch.pixels, count: batch.count, head: nil, wantsInputGradient: false,
      wantsParameterGradients: false, mode: mode)
    return (result.logits, result.batchStatistics)
  }

  /// Moves each batch-norm layer's running statistics toward a batch's, as PyTorch's
  /// `BatchNorm2d` does in training mode: `running = (1 - momentum) running + momentum batch`,
  /// with the batch's unbiased variance.
  /// - Parameters:
  ///   - statistics: Batch statistics from a training-mode pass
  ///     (``Gradients/batchStatistics``).
  ///   - momentum: The weight of the batch; PyTorch's default is 0.1.
  /// - Throws: ``ModelError`` for a name that is not a running statistic of this network or a
  ///   wrong count.
  public mutating func updateRunningStatistics(
    with statistics: [String: [Float]], momentum: Double = 0.1
  ) throws {
    for (name, values) in statistics.sorted(by: { $0.key < $1.key }) {
      guard let tensor = tensors.first(where: { $0.name == name }), !tensor.isTrainable else {
        throw ModelError(
          field: name, expected: "a batch-norm running statistic of the network", found: "none")
      }
      try Network.check(values, for: tensor)
      for (position, index) in tensor.range.enumerated() {
        parameters[index] = Float(
          (1 - momentum) * Double(parameters[index]) + momentum * Double(values[position]))
      }
    }
  }

  /// The smallest height x width a batch-norm layer normalises over, if there is one.
  private func smallestBatchNormPlane() -> Int? {
    logitStages.compactMap { stage -> Int? in
      if case .batchNorm = stage.operation { return stage.input.height * stage.input.width }
      return nil
    }.min()
  }
}
