/// A defense that transforms a classifier's class probabilities (ART's `Postprocessor`).
///
/// A postprocessor maps a `Probabilities` table to one of the same shape, each row on its own.
/// It may zero a whole row: that row is an abstention (see `Probabilities.abstainedRows`).
///
/// For attacks that need gradients through it, `backward(gradient:input:)` gives the backward
/// pass; the default is the identity (BPDA, as ART's `Postprocessor.estimate_gradient`), which
/// suits stages that are not differentiable (rounding, labels, trees).
public protocol Postprocessor: PipelineStage {
  /// Applies the defense to every row.
  /// - Parameter probabilities: One row of class probabilities per image.
  /// - Returns: A table of the same shape.
  /// - Throws: An error if the table does not suit the defense (for instance a postprocessor
  ///   that must be fitted and is not).
  func process(_ probabilities: Probabilities) throws -> Probabilities

  /// Whether the defense must be fitted on data before use (the distribution classifier); such
  /// a postprocessor is fitted explicitly by its owner.
  var requiresFitting: Bool { get }

  /// The backward pass: the gradient of a loss with respect to this stage's input rows, given
  /// its gradient with respect to this stage's output rows.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the output, `rows x columns` values.
  ///   - input: This stage's own input.
  /// - Returns: The gradient with respect to `input`, `rows x columns` values.
  /// - Throws: An error if the forward pass needed to compute it fails.
  func backward(gradient: [Float], input: Probabilities) throws -> [Float]
}

extension Postprocessor {
  /// False: a formula needs no fitting.
  public var requiresFitting: Bool { false }

  /// BPDA: the identity, as if the defense were not there (ART's default).
  /// - Parameters:
  ///   - gradient: The gradient with respect to the output.
  ///   - input: This stage's input (unused).
  /// - Returns: `gradient`, unchanged.
  public func backward(gradient: [Float], input: Probabilities) -> [Float] {
    gradient
  }
}
