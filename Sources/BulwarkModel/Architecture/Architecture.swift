import BulwarkData
import Foundation

/// A CNN's structure: the input image shape, the number of classes and the ordered layers.
///
/// Stored as a JSON string in a model file's safetensors `__metadata__`, so one file is a
/// complete classifier:
/// `{"input":{"height":28,"width":28,"channels":1},"classes":10,"layers":[{"type":"conv2d",
/// "name":"conv1","in":1,"out":6,"kernel":5,"padding":2},{"type":"relu"},…]}`.
/// Images enter channels last (NHWC, as ``ImageBatch``); layers compute in PyTorch's
/// channels-first order, so `flatten` and the following `linear` weights match PyTorch.
public struct Architecture: Codable, Equatable, Sendable {
  /// The shape of one input image.
  public var input: ImageShape
  /// The number of classes: the width of the output.
  public var classes: Int
  /// The layers, first to last.
  public var layers: [Layer]

  /// Creates an architecture; call ``validate()`` before use (``Network`` does).
  /// - Parameters:
  ///   - input: The shape of one input image.
  ///   - classes: The number of classes.
  ///   - layers: The layers, first to last.
  public init(input: ImageShape, classes: Int, layers: [Layer]) {
    self.input = input
    self.classes = classes
    self.layers = layers
  }

  /// Checks that the layers chain: each layer accepts the shape the previous one produces,
  /// every layer with parameters has a unique name, and the output is `classes` wide.
  /// - Throws: ``ModelError`` naming the layer (`layers[3] (conv2)`) and the mismatch.
  public func validate() throws {
    _ = try stages()
  }

  /// The architecture as compact JSON with keys in a fixed, readable order (`input`, `classes`,
  /// `layers`; each layer `type`, `name`, then its sizes), for a model file's metadata. The
  /// same architecture always gives the same text.
  /// - Returns: The JSON text.
  public func jsonString() -> String {
    var text = "{\"input\":{\"height\":\(input.height),\"width\":\(input.width),"
    text += "\"channels\":\(input.channels)},\"classes\":\(classes),\"layers\":["
    for (index, layer) in layers.enumerated() {
      if index > 0 { text += "," }
      let fields = layer.fields.map { key, value in
        let written: String
        switch value {
        case .integer(let number): written = String(number)
        case .real(let number): written = number.isFinite ? "\(number)" : "null"
        case .text(let string): written = jsonStringLiteral(string)
        }
        return "\"\(key.stringValue)\":\(written)"
      }
      text += "{" + fields.joined(separator: ",") + "}"
    }
    return text + "]}"
  }

  /// Reads an architecture from its JSON text and validates it.
  /// - Parameter jsonString: The text written by ``jsonString()``.
  /// - Throws: `DecodingError` for malformed JSON or an unknown layer type, ``ModelError`` for
  ///   an architecture whose shapes do not chain.
  public init(jsonString: String) throws {
    self = try JSONDecoder().decode(Architecture.self, from: Data(jsonString.utf8))
    try validate()
  }

  enum CodingKeys: String, CodingKey { case input, classes, layers }

  /// Reads an architecture from JSON (`input`, `classes`, `layers`).
  /// - Parameter decoder: The decoder.
  /// - Throws: `DecodingError` for a missing or malformed field.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let input = try container.nestedContainer(keyedBy: ShapeKeys.self, forKey: .input)
    let height = try input.decode(Int.self, forKey: .height)
    let width = try input.decode(Int.self, forKey: .width)
    let channels = try input.decode(Int.self, forKey: .channels)
    guard height > 0, width > 0, channels > 0 else {
      throw DecodingError.dataCorruptedError(
        forKey: .input, in: container,
        debugDescription: "expected positive image dimensions, found \(height)x\(width)x\(channels)"
      )
    }
    self.input = ImageShape(height: height, width: width, channels: channels)
    self.classes = try container.decode(Int.self, forKey: .classes)
    self.layers = try container.decode([Layer].self, forKey: .layers)
  }

  /// Writes `input`, `classes` and `layers`, in that order.
  /// - Parameter encoder: The encoder.
  /// - Throws: Errors of the encoder.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    var shape = container.nestedContainer(keyedBy: ShapeKeys.self, forKey: .input)
    try shape.encode(input.height, forKey: .height)
    try shape.encode(input.width, forKey: .width)
    try shape.encode(input.channels, forKey: .channels)
    try container.encode(classes, forKey: .classes)
    try container.encode(layers, forKey: .layers)
  }

  enum ShapeKeys: String, CodingKey { case height, width, channels }
}
