import BulwarkData

/// A frozen image classifier: what defenses wrap and attacks target.
///
/// Bulwark's own CNNs (`Network`) and imported models conform; a defended pipeline conforms too,
/// so attacks can target the whole pipeline (with BPDA through its preprocessors).
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

  /// The mean cross-entropy loss of `labels` and its gradient with respect to the input pixels.
  /// - Parameters:
  ///   - batch: Images of `inputShape`.
  ///   - labels: The class whose loss is measured, per image (the true labels, or an attack's
  ///     targets).
  /// - Returns: The loss and one gradient value per pixel value, NHWC.
  /// - Throws: An error for images of another shape, NaN values or labels out of range.
  func lossGradient(_ batch: ImageBatch, labels: [Int]) throws -> (loss: Double, input: [Float])
}

extension Classifier {
  /// The softmax of the logits: `batch.count x classCount` class probabilities, row-major.
  /// - Parameter batch: Images of `inputShape`.
  /// - Returns: One probability row per image.
  /// - Throws: As `logits(_:)`.
  public func probabilities(_ batch: ImageBatch) throws -> [Float] {
    Network.softmax(try logits(batch), classes: classCount)
  }

  /// The predicted class of every image (the first of equal maxima).
  /// - Parameter batch: Images of `inputShape`.
  /// - Returns: One class index per image.
  /// - Throws: As `logits(_:)`.
  public func predictions(_ batch: ImageBatch) throws -> [Int] {
    Network.argmax(try logits(batch), classes: classCount)
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
