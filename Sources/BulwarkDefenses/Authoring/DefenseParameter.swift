/// One parameter of a defense, declared once: its key in pipeline files, its default and the
/// values it accepts, so that the Swift initialiser, the pipeline-file decoder and the error
/// message all read the same declaration.
///
/// ```swift
/// struct MyBlur: RegisteredPreprocessor {
///   static let typeName = "my-blur"
///   static let radius = DefenseParameter("radius", default: 2, in: 0...64)
///   let radius: Int
///   init(radius: Int = Self.radius.defaultValue) throws(DefenseParameterError) {
///     self.radius = try Self.radius.validated(radius, stage: Self.typeName)
///   }
///   init(from decoder: any Decoder) throws {
///     let parameters = try DefenseParameters(decoder, stage: Self.typeName)
///     try self.init(radius: parameters.value(Self.radius))
///   }
/// }
/// ```
public struct DefenseParameter<Value: Decodable & Sendable>: Sendable {
  /// The key in pipeline files (`window`).
  public let key: String
  /// The value when the key is absent.
  public let defaultValue: Value
  /// The accepted values in words, for errors (`an integer >= 1`).
  public let expected: String
  private let accepts: @Sendable (Value) -> Bool

  /// Declares a parameter that accepts what `accepts` says.
  /// - Parameters:
  ///   - key: The key in pipeline files.
  ///   - defaultValue: The value when the key is absent.
  ///   - expected: The accepted values in words.
  ///   - accepts: Whether a value is accepted (default: every value).
  public init(
    _ key: String, default defaultValue: Value, expected: String,
    accepts: @escaping @Sendable (Value) -> Bool = { _ in true }
  ) {
    self.key = key
    self.defaultValue = defaultValue
    self.expected = expected
    self.accepts = accepts
  }

  /// Whether `value` is accepted.
  /// - Parameter value: A value.
  /// - Returns: True when the parameter accepts it.
  public func accepts(_ value: Value) -> Bool { accepts(value) }

  /// `value`, or `DefenseParameterError` when the parameter does not accept it
  /// (`spatial-smoothing: window must be an integer in 1...255, got 0`).
  /// - Parameters:
  ///   - value: The value given.
  ///   - stage: The defense's type name, for the message.
  /// - Returns: `value`.
  /// - Throws: `DefenseParameterError` naming the stage, the key, the accepted values and
  ///   `value`.
  public func validated(_ value: Value, stage: String) throws(DefenseParameterError) -> Value {
    guard accepts(value) else {
      throw DefenseParameterError(
        stage: stage, parameter: key, expected: expected, found: "\(value)")
    }
    return value
  }
}

extension DefenseParameter where Value: Comparable {
  /// Declares a parameter that accepts the values of a closed range (`quality 1...100`).
  /// - Parameters:
  ///   - key: The key in pipeline files.
  ///   - defaultValue: The value when the key is absent.
  ///   - range: The accepted values.
  ///   - expected: The accepted values in words (default: `a value in 1...100`; integers say
  ///     `an integer in 1...100`).
  public init(
    _ key: String, default defaultValue: Value, in range: ClosedRange<Value>,
    expected: String? = nil
  ) {
    let kind = Value.self is any BinaryInteger.Type ? "an integer" : "a number"
    self.init(
      key, default: defaultValue,
      expected: expected ?? "\(kind) in \(range.lowerBound)...\(range.upperBound)",
      accepts: { range.contains($0) })
  }
}

extension DefenseParameter where Value == ValueRange {
  /// Declares a `[lower, upper]` range parameter: finite bounds with lower < upper.
  /// - Parameters:
  ///   - key: The key in pipeline files.
  ///   - defaultValue: The range when the key is absent.
  public init(range key: String, default defaultValue: ValueRange) {
    self.init(
      key, default: defaultValue, expected: "[lower, upper] with finite lower < upper",
      accepts: { $0.lower.isFinite && $0.upper.isFinite && $0.lower < $0.upper })
  }
}
