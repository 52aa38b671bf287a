/// A model that cannot be built or run: an architecture whose shapes do not chain, parameters
/// that do not fit it, or an input of the wrong shape.
///
/// The message names the place (`layers[3] (conv2)`, `fc1.weight`, `input`), what was expected
/// and what was found: `conv2.weight: expected 2400 values (16x6x5x5), found 2000`.
public struct ModelError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Where the problem lies: a layer, a parameter name or an argument.
  public var field: String
  /// What the model requires there.
  public var expected: String
  /// What was given instead.
  public var found: String

  /// Creates an error.
  /// - Parameters:
  ///   - field: Where the problem lies: a layer, a parameter name or an argument.
  ///   - expected: What the model requires there.
  ///   - found: What was given instead.
  public init(field: String, expected: String, found: String) {
    self.field = field
    self.expected = expected
    self.found = found
  }

  /// `field: expected …, found …`.
  public var description: String { "\(field): expected \(expected), found \(found)" }
}
