import Foundation

/// A postprocessor that learns from data before use, such as the distribution classifier that
/// re-classifies a classifier's softmax outputs (the CS5260 report; Kou et al., ICLR 2020).
///
/// Its features may come from several classifier passes per image: one pass reads the softmax
/// of the defended classifier once; K passes run the pipeline's randomised preprocessors K
/// times (each reseeded with `Preprocessor.reseeded(pass:)`) and read the K softmax outputs.
/// The pipeline applies the postprocessors before a fitted one to every pass, the fitted one
/// combines the passes, and the postprocessors after it see its output. A pipeline holds at
/// most one fitted postprocessor.
///
/// The pipeline layer fits, saves, loads and checks a fitted postprocessor only through this
/// protocol and `FittedStage`: a user's own type takes part in `bulwark fit`, `score` and
/// `tune` (and the tuner's `best.json5`) exactly as the built-in distribution classifier does.
public protocol FittedPostprocessor: Postprocessor, FittedStage {
  /// The classifier passes its features take per image (1 for softmax features).
  var passesPerImage: Int { get }

  /// Learns from the classifier's probabilities on labelled images.
  /// - Parameters:
  ///   - passes: `passesPerImage` tables of the same shape; table `k` holds pass `k` of every
  ///     image.
  ///   - labels: The true class of each image (row).
  /// - Throws: An error for tables that do not fit each other or the labels, or when learning
  ///   fails.
  mutating func fit(passes: [Probabilities], labels: [Int]) throws

  /// Classifies from the passes.
  /// - Parameter passes: `passesPerImage` tables, as for `fit(passes:labels:)`.
  /// - Returns: One probability row per image.
  /// - Throws: An error when it is not fitted or the tables do not fit.
  func process(passes: [Probabilities]) throws -> Probabilities

  /// The backward pass over the passes: the gradient with respect to each pass's table, given
  /// the gradient with respect to the combined output.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the output, `rows x columns` values.
  ///   - passes: The passes the output was computed from.
  /// - Returns: One gradient per pass, each `rows x columns` values.
  /// - Throws: An error if the forward pass needed to compute it fails.
  func backward(gradient: [Float], passes: [Probabilities]) throws -> [[Float]]
}

extension FittedPostprocessor {
  /// True: it must be fitted (or loaded) before use.
  public var requiresFitting: Bool { true }

  /// Classifies from one pass (`passesPerImage` must be 1).
  /// - Parameter probabilities: One probability row per image.
  /// - Returns: One probability row per image.
  /// - Throws: As `process(passes:)`.
  public func process(_ probabilities: Probabilities) throws -> Probabilities {
    try process(passes: [probabilities])
  }

  /// BPDA over the passes: each pass receives the output's gradient divided by the number of
  /// passes, as if the stage averaged its passes (the expectation over transformations of
  /// Athalye et al., 2018); with one pass, the identity.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the output.
  ///   - passes: The passes (only their count is used).
  /// - Returns: One gradient per pass.
  public func backward(gradient: [Float], passes: [Probabilities]) -> [[Float]] {
    let share = 1 / Float(max(passes.count, 1))
    let each = passes.count <= 1 ? gradient : gradient.map { $0 * share }
    return [[Float]](repeating: each, count: passes.count)
  }

  /// BPDA with one pass: the identity.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the output.
  ///   - input: The one pass.
  /// - Returns: The gradient with respect to the pass.
  /// - Throws: As `backward(gradient:passes:)`.
  public func backward(gradient: [Float], input: Probabilities) throws -> [Float] {
    try backward(gradient: gradient, passes: [input])[0]
  }
}
