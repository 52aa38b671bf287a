/// A detector used before it has a threshold, or given what it cannot use.
public enum DetectorError: Error, Equatable, CustomStringConvertible {
  /// No threshold yet: fit it (`bulwark fit FILE`), load its model or give `threshold`.
  case notFitted(stage: String)
  /// No clean images to fit the threshold on.
  case noImages(stage: String)
  /// A score that is not finite.
  case score(stage: String, image: Int, found: String)
  /// Not one score per image.
  case scoreCount(stage: String, expected: Int, found: Int)
  /// A saved model that cannot be used.
  case model(file: String, expected: String, found: String)
  /// Held-out images that cannot be used (STRIP's pool).
  case pool(stage: String, expected: String, found: String)

  /// A one-line message.
  public var description: String {
    switch self {
    case .notFitted(let stage):
      "\(stage): no threshold; fit it (bulwark fit), load its model or give threshold"
    case .noImages(let stage):
      "\(stage): no clean images to fit the threshold on"
    case .score(let stage, let image, let found):
      "\(stage): image \(image) scores \(found); scores must be finite numbers"
    case .scoreCount(let stage, let expected, let found):
      "\(stage): expected \(expected) scores (one per image), found \(found)"
    case .model(let file, let expected, let found):
      "\(file): expected \(expected), found \(found)"
    case .pool(let stage, let expected, let found):
      "\(stage): the pool must hold \(expected), found \(found)"
    }
  }
}
