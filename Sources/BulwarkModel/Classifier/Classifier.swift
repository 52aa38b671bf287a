import BulwarkData

/// Computes an image's gradient on its logits from them: called with the image's index in the
/// batch, its logits and room for as many gradient values. It may be called concurrently for
/// different images.
public typealias LogitRowGradient =
  @Sendable (
    _ image: Int, _ logits: UnsafeBufferPointer<Float>,
    _ gradient: UnsafeMutableBufferPointer<Float>
  ) -> Void

/// A frozen image classifier: what defenses wrap and attacks target.
///
/// Bulwark's own CNNs (`Network`) and imported models conform; a defended pipeline conforms too,
/// so attacks can target the whole pipeline (with BPDA through its preprocessors).
///
/// A conforming type gives its logits and their vector-Jacobian product
/// (`inputGradient(_:logitGradient:)`); the probabilities (softmax of the logits) and the
/// cross-entropy gradient have defaults that a type may replace with something faster or more
/// exact (a pipeline's probabilities are its defended outputs, which can abstain).
public protocol Classifier: Sendable {
  /// The shape of the images the classifier takes (NHWC, values in [0, 1]).
  var inputShape: ImageShape { get }
  /// The number of classes it scores.
  var classCount: Int { get }

  /// The raw scores (logits) of every image.
  /// - Parameter batch: Images of `inputShape`.
  /// - Returns: `batch.count x classCount` values, row-major.
  /// - Throws: An error for images of another shape or with NaN values.
  func logits(_ batch: ImageBatch) throws -> [Float]

  /// The class probabilities of every image; by default the softmax of the logits.
  /// - Parameter batch: Images of `inputShape`.
  /// - Returns: `batch.count x classCount` values, row-major; an all-zero row is an
  ///   abstention.
  /// - Throws: As `logits(_:)`.
  func probabilities(_ batch: ImageBatch) throws -> [Float]

  /// The gradient, with respect to the input pixels, of a loss whose gradient with respect to
  /// the logits is `logitGradient` (the vector-Jacobian product of the logits), for losses
  /// computed outside the classifier.
  /// - Parameters:
  ///   - batch: Images of `inputShape`.
  ///   - logitGradient: `batch.count x classCount` finite values, row-major.
  /// - Returns: One gradient value per pixel value, NHWC.
  /// - Throws: An error for images of another shape, NaN values or a gradient of another size.
  func inputGradient(_ batch: ImageBatch, logitGradient: [Float]) throws -> [Float]

  /// The mean cross-entropy loss of `labels` and its gradient with respect to the input pixels.
  /// - Parameters:
  ///   - batch: Images of `inputShape`.
  ///   - labels: The class whose loss is measured, per image (the true labels, or an attack's
  ///     targets).
  /// - Returns: The loss and one gradient value per pixel value, NHWC.
  /// - Throws: An error for images of another shape, NaN values or labels out of range.
  func lossGradient(_ batch: ImageBatch, labels: [Int]) throws -> (loss: Double, input: [Float])

  /// The logits of every image and the input gradient of a loss whose gradient on an image's
  /// logits `rowGradient` computes from them, in one forward and one backward pass where the
  /// classifier can fuse them (attacks whose loss depends on the logits, such as APGD's DLR).
  /// By default the logits, then `inputGradient(_:logitGradient:)`.
  /// - Parameters:
  ///   - batch: Images of `inputShape`.
  ///   - rowGradient: Computes each image's gradient on its logits.
  /// - Returns: The logits (`batch.count x classCount`, row-major) and one gradient value per
  ///   pixel value, NHWC.
  /// - Throws: An error for images of another shape or NaN values.
  func logitsAndInputGradient(_ batch: ImageBatch, rowGradient: @escaping LogitRowGradient) throws
    -> (
      logits: [Float], input: [Float]
    )

  /// Whether an attack that makes the classifier abstain (an all-zero probability row) has
  /// succeeded. True by default: the scorer counts an abstention wrong. A defended pipeline
  /// with detectors says false, so that attacks against it keep searching for images its
  /// detectors let through, which is what measuring a detector against an adaptive attacker
  /// asks for (the scorer still counts every abstention wrong).
  var abstentionIsAttackSuccess: Bool { get }

  /// For attacks that must evade detectors: per image, how far the scores of the
  /// differentiable detectors that flag it are above their thresholds and the input gradient
  /// of that sum (`DetectorEvasion`), or nil when the classifier has no differentiable detector
  /// (the default). The gradient attacks step down it on the images it flags, whatever their
  /// own direction, and APGD ranks a flagged point below every point let through.
  /// - Parameter batch: Images of `inputShape`.
  /// - Returns: The evasion, or nil.
  /// - Throws: The detectors' and the classifier's errors.
  func evasion(_ batch: ImageBatch) throws -> DetectorEvasion?
}

extension Classifier {
  /// True: an abstention is an attack's success, as the scorer counts it wrong.
  public var abstentionIsAttackSuccess: Bool { true }

  /// Nil: no detector to evade.
  /// - Parameter batch: Images (unused).
  /// - Returns: nil.
  public func evasion(_ batch: ImageBatch) -> DetectorEvasion? { nil }

  /// The softmax of the logits: `batch.count x classCount` class probabilities, row-major.
  /// - Parameter batch: Images of `inputShape`.
  /// - Returns: One probability row per image.
  /// - Throws: As `logits(_:)`.
  public func probabilities(_ batch: ImageBatch) throws -> [Float] {
    Network.softmax(try logits(batch), classes: classCount)
  }

  /// The logits, then the input gradient of the rows' gradients: two passes.
  /// - Parameters:
  ///   - batch: Images of `inputShape`.
  ///   - rowGradient: Computes each image's gradient on its logits.
  /// - Returns: The logits and the input gradient.
  /// - Throws: As `logits(_:)` and `inputGradient(_:logitGradient:)`.
  public func logitsAndInputGradient(_ batch: ImageBatch, rowGradient: @escaping LogitRowGradient)
    throws -> (
      logits: [Float], input: [Float]
    )
  {
    let logits = try logits(batch)
    let gradient = Self.rowGradients(logits, classes: classCount, rowGradient)
    return (logits, try inputGradient(batch, logitGradient: gradient))
  }

  /// Every row's gradient on its logits, computed by `rowGradient`.
  /// - Parameters:
  ///   - logits: `N x classes` values, row-major.
  ///   - classes: Values per row.
  ///   - rowGradient: Computes a row's gradient.
  /// - Returns: `N x classes` gradient values.
  public static func rowGradients(
    _ logits: [Float], classes: Int, _ rowGradient: LogitRowGradient
  ) -> [Float] {
    var gradient = [Float](repeating: 0, count: logits.count)
    logits.withUnsafeBufferPointer { rows in
      gradient.withUnsafeMutableBufferPointer { values in
        for image in 0..<(classes == 0 ? 0 : logits.count / classes) {
          rowGradient(
            image, UnsafeBufferPointer(rebasing: rows[image * classes..<(image + 1) * classes]),
            UnsafeMutableBufferPointer(
              rebasing: values[image * classes..<(image + 1) * classes]))
        }
      }
    }
    return gradient
  }

  /// The mean cross-entropy of the softmax of the logits against `labels` and its input
  /// gradient, from the logits and their vector-Jacobian product (two passes; `Network` and
  /// `ONNXModel` do it in one).
  /// - Parameters:
  ///   - batch: Images of `inputShape`.
  ///   - labels: One class per image.
  /// - Returns: The loss and one gradient value per pixel value, NHWC.
  /// - Throws: `ModelError` for labels of another count or out of range; as `logits(_:)`.
  public func lossGradient(_ batch: ImageBatch, labels: [Int]) throws -> (
    loss: Double, input: [Float]
  ) {
    try checkLabels(labels, count: batch.count)
    let classes = classCount
    let logits = try logits(batch)
    var gradient = [Float](repeating: 0, count: logits.count)
    var loss = 0.0
    let scale = 1 / Double(max(batch.count, 1))
    logits.withUnsafeBufferPointer { rows in
      gradient.withUnsafeMutableBufferPointer { values in
        guard let rows = rows.baseAddress, let values = values.baseAddress else { return }
        for (image, label) in labels.enumerated() {
          loss += CrossEntropyLoss.rowLoss(
            rows + image * classes, classes: classes, label: label, scale: scale,
            gradient: values + image * classes)
        }
      }
    }
    return (loss * scale, try inputGradient(batch, logitGradient: gradient))
  }

  /// Checks that a gradient on the logits has one finite value per image and class.
  /// - Parameters:
  ///   - gradient: The gradient, row-major.
  ///   - count: The number of images.
  /// - Throws: `ModelError` naming the expected count.
  public func checkLogitGradient(_ gradient: [Float], count: Int) throws {
    guard gradient.count == count * classCount, gradient.allSatisfy(\.isFinite) else {
      throw ModelError(
        field: "logitGradient", expected: "\(count * classCount) finite values",
        found: "\(gradient.count) values")
    }
  }

  /// Checks that there is one label per image, each a class of the classifier.
  /// - Parameters:
  ///   - labels: The labels.
  ///   - count: The number of images.
  /// - Throws: `ModelError` naming the count or the first label out of range.
  public func checkLabels(_ labels: [Int], count: Int) throws {
    guard labels.count == count else {
      throw ModelError(field: "labels", expected: "\(count) labels", found: "\(labels.count)")
    }
    if let index = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
      throw ModelError(
        field: "labels", expected: "classes in 0..<\(classCount)",
        found: "\(labels[index]) at \(index)")
    }
  }

  /// The predicted class of every image (the first of equal maxima).
  /// - Parameter batch: Images of `inputShape`.
  /// - Returns: One class index per image.
  /// - Throws: As `logits(_:)`.
  public func predictions(_ batch: ImageBatch) throws -> [Int] {
    Network.argmax(try logits(batch), classes: classCount)
  }

  /// Checks a data set against the classifier before any work: its image shape, and that every
  /// label is one of the classifier's classes.
  /// - Parameters:
  ///   - batch: The set.
  ///   - source: The set as the user named it (`ybad.npz`), for the error.
  /// - Throws: `ModelError` naming the source, the image and what the classifier expects.
  public func check(_ batch: ImageBatch, from source: String) throws(ModelError) {
    guard batch.shape == inputShape else {
      throw ModelError(
        field: "\(source): images", expected: "\(inputShape) (height x width x channels)",
        found: "\(batch.shape)")
    }
    if let index = batch.labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
      throw ModelError(
        field: "\(source): labels", expected: "the classifier's classes 0...\(classCount - 1)",
        found: "\(batch.labels[index]) on image \(index)")
    }
  }

  /// Checks that `batch` holds images of `inputShape`.
  /// - Throws: `ModelError` naming the expected and found shapes.
  public func checkShape(_ batch: ImageBatch) throws {
    guard batch.shape == inputShape else {
      throw ModelError(
        field: "input", expected: "images of \(inputShape) (height x width x channels)",
        found: "\(batch.shape)")
    }
  }
}
