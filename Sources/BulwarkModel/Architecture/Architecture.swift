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

  /// The largest image side, channel count, feature count, class count, kernel, stride, group
  /// count or padding an architecture may name: 65,536. Checked before any shape arithmetic,
  /// so a file naming 2^40 channels is an error instead of an overflow.
  public static let maximumSize = 1 << 16

  /// The most values one image's activation may hold after any layer, the input included:
  /// 2^26 (67,108,864; VGG-16's largest on ImageNet holds 3.2 million). A network computes 16
  /// images at a time, so this bounds its working memory at 4 GiB per activation.
  public static let maximumActivationValues = 1 << 26

  /// The most parameter values an architecture may hold: 2^31 (2,147,483,648, 8 GiB of
  /// float32).
  public static let maximumParameterCount = 1 << 31

  /// Checks that the layers chain: each layer accepts the shape the previous one produces,
  /// every layer with parameters has a unique name, the output is `classes` wide, and every
  /// size is within ``maximumSize``, ``maximumActivationValues`` and
  /// ``maximumParameterCount``.
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
  /// - Throws: ``ModelError`` naming the key path (`layers[2].out`), what was expected and what
  ///   the text holds, for malformed JSON, a missing or mistyped field, an unknown layer type,
  ///   a size beyond the limits or shapes that do not chain.
  public init(jsonString: String) throws {
    do {
      self = try JSONDecoder().decode(Architecture.self, from: Data(jsonString.utf8))
    } catch let error as DecodingError {
      throw ModelError(decoding: error, json: jsonString)
    }
    try validate()
  }

  enum CodingKeys: String, CodingKey { case input, classes, layers }

  /// Reads an architecture from JSON (`input`, `classes`, `layers`); ``validate()`` judges
  /// the layers.
  /// - Parameter decoder: The decoder.
  /// - Throws: `DecodingError` for a missing or malformed field, ``ModelError`` for an input
  ///   size outside 1...``maximumSize`` or an unknown layer type.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let input = try container.nestedContainer(keyedBy: ShapeKeys.self, forKey: .input)
    let height = try input.decode(Int.self, forKey: .height)
    let width = try input.decode(Int.self, forKey: .width)
    let channels = try input.decode(Int.self, forKey: .channels)
    let sizes = 1...Self.maximumSize
    guard sizes.contains(height), sizes.contains(width), sizes.contains(channels) else {
      throw ModelError(
        field: "input", expected: "height, width and channels in 1...\(Self.maximumSize)",
        found: "\(height)x\(width)x\(channels)")
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

  enum ShapeKeys: String, CodingKey, CaseIterable { case height, width, channels }
}
