/// A defense's parameters as a pipeline-file stage gives them (`{ type: "…", window: 3 }`),
/// read through `DefenseParameter` declarations: a key that is absent takes the declared
/// default.
///
/// Reading does not judge the values: read every parameter first, then pass them to the
/// initialiser that validates them (`DefenseParameter.validated(_:stage:)`), so that the
/// pipeline layer, which reports every key a defense never asks for as unknown, sees every key
/// read even when one value is out of range.
public struct DefenseParameters {
  private struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }

  /// The defense's type name, for error messages.
  public let stage: String
  private let container: KeyedDecodingContainer<Key>

  /// Opens a stage's parameters.
  /// - Parameters:
  ///   - decoder: The stage's decoder (`init(from:)`'s).
  ///   - stage: The defense's type name.
  /// - Throws: `DecodingError` when the stage is not an object.
  public init(_ decoder: any Decoder, stage: String) throws {
    container = try decoder.container(keyedBy: Key.self)
    self.stage = stage
  }

  /// The parameter's value, or its default when the key is absent.
  /// - Parameter parameter: The declaration.
  /// - Returns: The value.
  /// - Throws: `DecodingError` for a value of the wrong type.
  public func value<Value>(_ parameter: DefenseParameter<Value>) throws -> Value {
    try valueIfPresent(parameter) ?? parameter.defaultValue
  }

  /// The parameter's value when the key is present, or nil: for parameters whose absence means
  /// something (no clipping, say).
  /// - Parameter parameter: The declaration (its default is not used).
  /// - Returns: The value, or nil.
  /// - Throws: `DecodingError` for a value of the wrong type.
  public func valueIfPresent<Value>(_ parameter: DefenseParameter<Value>) throws -> Value? {
    try container.decodeIfPresent(Value.self, forKey: Key(stringValue: parameter.key))
  }

  /// The value of a parameter that must be given (a program to run, say); its declaration's
  /// default is not used.
  /// - Parameter parameter: The declaration.
  /// - Returns: The value.
  /// - Throws: `DecodingError` when the key is absent or the value of the wrong type.
  public func required<Value>(_ parameter: DefenseParameter<Value>) throws -> Value {
    try container.decode(Value.self, forKey: Key(stringValue: parameter.key))
  }
}
