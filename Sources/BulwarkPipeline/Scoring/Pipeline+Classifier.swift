import BulwarkData
import BulwarkDefenses
import BulwarkModel
import Foundation

/// The defended pipeline as a classifier, so that attacks target the whole of it.
///
/// Its probabilities are the defended outputs (an all-zero row is an abstention); its logits are
/// their logarithms, floored at `probabilityFloor` (so an abstained row has equal logits). Its
/// input gradient runs back through every stage: each postprocessor's
/// `backward(gradient:input:)` (the identity, BPDA, for stages that are not differentiable; the
/// true gradient for those that give one, such as `ReverseSigmoid`), a fitted postprocessor's
/// `backward(gradient:passes:)` over its passes, the softmax of the classifier's logits, the
/// classifier's `inputGradient(_:logitGradient:)` and the preprocessor chain's backward pass
/// (each stage with its own input; BPDA by default). With several passes per image the
/// gradients of the passes are summed. An image a detector flags has an all-zero row, which
/// passes no gradient: its flag is a step, whose derivative is zero wherever it is defined, so
/// a gradient attack sees nothing of the detector and must rely on the rows it lets through
/// (score-based attacks such as Square see the abstentions in their margins).
extension Pipeline: Classifier {
  /// The smallest probability whose logarithm the pipeline's logits and losses take.
  public static let probabilityFloor: Float = 1e-12

  /// The classifier's input shape.
  public var inputShape: ImageShape { classifier.inputShape }

  /// The classifier's class count.
  public var classCount: Int { classifier.classCount }

  /// False with detectors: an attack must find images they let through and the classifier
  /// gets wrong (a flagged image is an abstention, which the scorer counts wrong but which
  /// tells the defender it is being attacked). True without.
  public var abstentionIsAttackSuccess: Bool { detectors.isEmpty }

  /// The defended probabilities, row-major (see `defendedProbabilities(_:)`).
  /// - Parameter batch: Images of the classifier's input shape.
  /// - Returns: `batch.count x classCount` values; an all-zero row is an abstention.
  /// - Throws: Errors from the stages or the classifier.
  public func probabilities(_ batch: ImageBatch) throws -> [Float] {
    try defendedProbabilities(batch).values
  }

  /// The logarithms of the defended probabilities, floored at `probabilityFloor`: their
  /// softmax gives the defended probabilities back (an abstained row gives equal ones).
  /// - Parameter batch: Images of the classifier's input shape.
  /// - Returns: `batch.count x classCount` values, row-major.
  /// - Throws: Errors from the stages or the classifier.
  public func logits(_ batch: ImageBatch) throws -> [Float] {
    try probabilities(batch).map { Foundation.log(max($0, Self.probabilityFloor)) }
  }

  /// The mean cross-entropy of the defended probabilities against `labels`,
  /// `-log max(q_label, probabilityFloor)`, and its gradient with respect to the pixels.
  /// - Parameters:
  ///   - batch: Images of the classifier's input shape.
  ///   - labels: One class per image (true labels, or an attack's targets).
  /// - Returns: The loss and one gradient value per pixel value, NHWC.
  /// - Throws: `ModelError` for labels of another count or out of range; errors from the
  ///   stages or the classifier.
  public func lossGradient(_ batch: ImageBatch, labels: [Int]) throws -> (
    loss: Double, input: [Float]
  ) {
    try checkLabels(labels, count: batch.count)
    let classes = classCount
    let scale = 1 / Float(max(batch.count, 1))
    return try backpropagate(batch) { defended in
      var loss = 0.0
      var gradient = [Float](repeating: 0, count: defended.values.count)
      for (image, label) in labels.enumerated() {
        let probability = max(defended.values[image * classes + label], Self.probabilityFloor)
        loss -= Double(Foundation.log(probability))
        gradient[image * classes + label] = -scale / probability
      }
      return (loss * Double(scale), gradient)
    }
  }

  /// The input gradient of a loss given by its gradient on the pipeline's logits (the floored
  /// logarithms of the defended probabilities).
  /// - Parameters:
  ///   - batch: Images of the classifier's input shape.
  ///   - logitGradient: `batch.count x classCount` finite values, row-major.
  /// - Returns: One gradient value per pixel value, NHWC.
  /// - Throws: `ModelError` for a gradient of another size; errors from the stages or the
  ///   classifier.
  public func inputGradient(_ batch: ImageBatch, logitGradient: [Float]) throws -> [Float] {
    try checkLogitGradient(logitGradient, count: batch.count)
    return try backpropagate(batch) { defended in
      let gradient = zip(logitGradient, defended.values).map { upstream, probability in
        upstream / max(probability, Self.probabilityFloor)
      }
      return (0, gradient)
    }.input
  }

  /// The pipeline's logits and the input gradient of a loss given per row on them, from one
  /// forward and one backward pass through every stage.
  /// - Parameters:
  ///   - batch: Images of the classifier's input shape.
  ///   - rowGradient: Computes each image's gradient on its logits.
  /// - Returns: The logits and one gradient value per pixel value, NHWC.
  /// - Throws: Errors from the stages or the classifier.
  public func logitsAndInputGradient(
    _ batch: ImageBatch, rowGradient: @escaping LogitRowGradient
  ) throws -> (logits: [Float], input: [Float]) {
    var logits: [Float] = []
    let input = try backpropagate(batch) { defended in
      let floored = defended.values.map { max($0, Self.probabilityFloor) }
      logits = floored.map { Foundation.log($0) }
      let gradient = Self.rowGradients(logits, classes: classCount, rowGradient)
      return (0, zip(gradient, floored).map { $0 / $1 })
    }.input
    return (logits, input)
  }

  /// One classifier pass as the backward pass needs it: the preprocessor chain and its trace,
  /// the classifier's softmax, and the input of every postprocessor before the fitted one.
  private struct PassRecord {
    var chain: PreprocessorChain
    var trace: PreprocessorChain.Trace
    var softmax: [Float]
    var postprocessorInputs: [Probabilities]
    var output: Probabilities
  }

  /// Runs the pipeline forward keeping what the backward pass needs, asks `loss` for the
  /// gradient with respect to the defended probabilities, and runs it back to the pixels.
  private func backpropagate(
    _ batch: ImageBatch, loss: (Probabilities) throws -> (loss: Double, gradient: [Float])
  ) throws -> (loss: Double, input: [Float]) {
    try checkShape(batch)
    let fitted = fittedPostprocessor
    let end = fitted?.index ?? postprocessors.count
    let classes = classCount
    let flagged = try anyDetectorFlags(batch)
    var records: [PassRecord] = []
    for pass in 0..<(fitted?.stage.passesPerImage ?? 1) {
      let chain = preprocessing.forPass(pass)
      let trace = try chain.trace(batch)
      let softmax = Network.softmax(try classifier.logits(trace.output), classes: classes)
      var table = Probabilities(rows: batch.count, columns: classes, values: softmax)
      var inputs: [Probabilities] = []
      for stage in postprocessors[..<end] {
        inputs.append(table)
        table = try stage.process(table)
      }
      records.append(
        PassRecord(
          chain: chain, trace: trace, softmax: softmax, postprocessorInputs: inputs,
          output: table))
    }

    var passGradients: [[Float]]
    let result: (loss: Double, gradient: [Float])
    if let fitted {
      let passes = records.map(\.output)
      var table = try fitted.stage.process(passes: passes)
      var inputs: [Probabilities] = []
      for stage in postprocessors[(fitted.index + 1)...] {
        inputs.append(table)
        table = try stage.process(table)
      }
      result = try loss(table.abstaining(on: flagged))
      var gradient = Probabilities.zeroingRows(result.gradient, flagged: flagged, columns: classes)
      for (stage, input) in zip(postprocessors[(fitted.index + 1)...], inputs).reversed() {
        gradient = try stage.backward(gradient: gradient, input: input)
      }
      passGradients = try fitted.stage.backward(gradient: gradient, passes: passes)
    } else {
      result = try loss(records[0].output.abstaining(on: flagged))
      passGradients = [
        Probabilities.zeroingRows(result.gradient, flagged: flagged, columns: classes)
      ]
    }

    var input = [Float](repeating: 0, count: batch.pixels.count)
    for (record, outputGradient) in zip(records, passGradients) {
      var gradient = outputGradient
      for (stage, stageInput) in zip(postprocessors[..<end], record.postprocessorInputs)
        .reversed()
      {
        gradient = try stage.backward(gradient: gradient, input: stageInput)
      }
      let logitGradient = Self.softmaxBackward(gradient, softmax: record.softmax, classes: classes)
      let imageGradient = try classifier.inputGradient(
        record.trace.output, logitGradient: logitGradient)
      let pixelGradient = try record.chain.backward(gradient: imageGradient, trace: record.trace)
      for index in input.indices { input[index] += pixelGradient[index] }
    }
    return (result.loss, input)
  }

  /// The vector-Jacobian product of a row-wise softmax: `p (g - <g, p>)` per row.
  static func softmaxBackward(_ gradient: [Float], softmax: [Float], classes: Int) -> [Float] {
    var result = [Float](repeating: 0, count: gradient.count)
    for start in stride(from: 0, to: gradient.count, by: classes) {
      var dot: Float = 0
      for column in start..<start + classes { dot += gradient[column] * softmax[column] }
      for column in start..<start + classes {
        result[column] = softmax[column] * (gradient[column] - dot)
      }
    }
    return result
  }
}
