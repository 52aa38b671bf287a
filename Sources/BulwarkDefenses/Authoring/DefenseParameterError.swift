/// A defense parameter outside its allowed range, named so a user can fix the pipeline file:
/// `spatial-smoothing: window must be an integer in 1...255, got 0`.
public struct DefenseParameterError: Error, Equatable, CustomStringConvertible {
  /// The defense's type name, as written in pipeline files (`spatial-smoothing`).
  public var stage: String
  /// The parameter's name, as written in pipeline files (`window`).
  public var parameter: String
  /// The allowed values, in words (`an integer >= 1`).
  public var expected: String
  /// The value that was given, printed.
  public var found: String

  /// Creates an error for one parameter of one defense.
  /// - Parameters:
  ///   - stage: The defense's type name.
  ///   - parameter: The parameter's name.
  ///   - expected: The allowed values, in words.
  ///   - found: The value that was given.
  public init(stage: String, parameter: String, expected: String, found: String) {
    self.stage = stage
    self.parameter = parameter
    self.expected = expected
    self.found = found
  }

  /// `stage: parameter must be expected, got found`.
  public var description: String { "\(stage): \(parameter) must be \(expected), got \(found)" }
}
