/// A postprocessor that learns from data before use, such as the distribution classifier that
/// re-classifies a classifier's softmax outputs (the CS5260 report; Kou et al., ICLR 2020).
///
/// Its features may come from several classifier passes per image: one pass reads the softmax
/// of the defended classifier once; K passes run the pipeline's randomised preprocessors K
/// times (each reseeded with `Preprocessor.reseeded(pass:)`) and read the K softmax outputs.
/// The pipeline applies the postprocessors before a fitted one to every pass, the fitted one
/// combines the passes, and the postprocessors after it see its output. A pipeline holds at
/// most one fitted postprocessor.
public protocol FittedPostprocessor: Postprocessor {
  /// The classifier passes its features take per image (1 for softmax features).
  var passesPerImage: Int { get }

  /// Whether it is ready: fitted in this run, or loaded from its saved model.
  var isFitted: Bool { get }

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
}
