/// A distribution classifier used before it is fitted, or given data that does not suit it.
public enum DistributionClassifierError: Error, Equatable, CustomStringConvertible {
  /// No trees yet: fit it (`PipelineDescription.fit`, `bulwark fit FILE`) or load its model.
  case notFitted
  /// The probability tables do not fit each other or the labels.
  case passes(expected: String, found: String)
  /// The loaded trees do not suit the classes or the feature mode.
  case model(expected: String, found: String)
  /// The trees could not be trained or evaluated.
  case training(String)

  /// A one-line message.
  public var description: String {
    switch self {
    case .notFitted:
      "distribution-classifier: not fitted; fit it or load its model first"
    case .passes(let expected, let found):
      "distribution-classifier: expected \(expected), found \(found)"
    case .model(let expected, let found):
      "distribution-classifier: the model must take \(expected), found \(found)"
    case .training(let message):
      "distribution-classifier: \(message)"
    }
  }
}
