/// A defense that transforms a classifier's class probabilities (ART's `Postprocessor`).
///
/// A postprocessor maps a `Probabilities` table to one of the same shape, each row on its own.
/// It may zero a whole row: that row is an abstention (see `Probabilities.abstainedRows`).
public protocol Postprocessor: Sendable {
  /// Applies the defense to every row.
  /// - Parameter probabilities: One row of class probabilities per image.
  /// - Returns: A table of the same shape.
  /// - Throws: An error if the table does not suit the defense (for instance a postprocessor
  ///   that must be fitted and is not).
  func process(_ probabilities: Probabilities) throws -> Probabilities

  /// Whether the defense must be fitted on data before use (the distribution classifier); such
  /// a postprocessor is fitted explicitly by its owner.
  var requiresFitting: Bool { get }
}

extension Postprocessor {
  /// False: a formula needs no fitting.
  public var requiresFitting: Bool { false }
}
