import BulwarkData

/// A layer is a flat JSON object: `{"type":"conv2d","name":"conv1","in":1,"out":6,"kernel":5,
/// "padding":2}`. Fields at their PyTorch default (stride 1, padding 0, groups 1, eps 1e-5) are
/// left out when encoding and optional when decoding; a pooling stride is always written.
extension Layer: Codable {
  enum CodingKeys: String, CodingKey {
    case type, name
    case inputs = "in"
    case outputs = "out"
    case kernel, stride, padding, groups, p, features, eps, factor
  }

  /// Reads a layer from its JSON object.
  /// - Parameter decoder: The decoder.
  /// - Throws: ``ModelError`` naming the key path for an unknown `type`, `DecodingError` for a
  ///   missing or mistyped field.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let name = try container.decodeIfPresent(String.self, forKey: .name)
    let type = try container.decode(String.self, forKey: .type)
    func int(_ key: CodingKeys) throws -> Int { try container.decode(Int.self, forKey: key) }
    func int(_ key: CodingKeys, default value: Int) throws -> Int {
      try container.decodeIfPresent(Int.self, forKey: key) ?? value
    }
    let kind: Kind
    switch type {
    case "conv2d":
      kind = .conv2d(
        inChannels: try int(.inputs), outChannels: try int(.outputs), kernel: try int(.kernel),
        stride: try int(.stride, default: 1), padding: try int(.padding, default: 0),
        groups: try int(.groups, default: 1))
    case "maxPool2d", "avgPool2d":
      let kernel = try int(.kernel)
      let stride = try int(.stride, default: kernel)
      kind =
        type == "maxPool2d"
        ? .maxPool2d(kernel: kernel, stride: stride) : .avgPool2d(kernel: kernel, stride: stride)
    case "globalAvgPool": kind = .globalAvgPool
    case "upsample2d": kind = .upsample2d(factor: try int(.factor))
    case "linear": kind = .linear(inFeatures: try int(.inputs), outFeatures: try int(.outputs))
    case "relu": kind = .relu
    case "flatten": kind = .flatten
    case "dropout":
      kind = .dropout(p: try container.decodeIfPresent(Double.self, forKey: .p) ?? 0.5)
    case "batchNorm2d":
      kind = .batchNorm2d(
        features: try int(.features),
        epsilon: try container.decodeIfPresent(Double.self, forKey: .eps) ?? 1e-5)
    case "gaussianSample": kind = .gaussianSample
    case "softmax": kind = .softmax
    default:
      throw ModelError(
        field: modelErrorField(container.codingPath + [CodingKeys.type]),
        expected: "a layer type (conv2d, maxPool2d, avgPool2d, globalAvgPool, upsample2d, "
          + "linear, relu, flatten, dropout, batchNorm2d, gaussianSample, softmax)",
        found: jsonStringLiteral(type))
    }
    self.init(name: name, kind)
  }

  /// Writes the layer as one JSON object.
  /// - Parameter encoder: The encoder.
  /// - Throws: Errors of the encoder.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    for (key, value) in fields {
      switch value {
      case .integer(let number): try container.encode(number, forKey: key)
      case .real(let number): try container.encode(number, forKey: key)
      case .text(let text): try container.encode(text, forKey: key)
      }
    }
  }

  /// A scalar JSON value of a layer field.
  enum FieldValue: Equatable {
    case integer(Int)
    case real(Double)
    case text(String)
  }

  /// The layer's fields in their written order: `type`, `name`, then the sizes.
  var fields: [(key: CodingKeys, value: FieldValue)] {
    var fields: [(key: CodingKeys, value: FieldValue)] = []
    func add(_ key: CodingKeys, _ value: Int) { fields.append((key, .integer(value))) }
    func start(_ type: String) {
      fields.append((.type, .text(type)))
      if let name { fields.append((.name, .text(name))) }
    }
    switch kind {
    case .conv2d(let inputs, let outputs, let kernel, let stride, let padding, let groups):
      start("conv2d")
      add(.inputs, inputs)
      add(.outputs, outputs)
      add(.kernel, kernel)
      if stride != 1 { add(.stride, stride) }
      if padding != 0 { add(.padding, padding) }
      if groups != 1 { add(.groups, groups) }
    case .maxPool2d(let kernel, let stride):
      start("maxPool2d")
      add(.kernel, kernel)
      add(.stride, stride)
    case .avgPool2d(let kernel, let stride):
      start("avgPool2d")
      add(.kernel, kernel)
      add(.stride, stride)
    case .upsample2d(let factor):
      start("upsample2d")
      add(.factor, factor)
    case .linear(let inputs, let outputs):
      start("linear")
      add(.inputs, inputs)
      add(.outputs, outputs)
    case .dropout(let p):
      start("dropout")
      fields.append((.p, .real(p)))
    case .batchNorm2d(let features, let epsilon):
      start("batchNorm2d")
      add(.features, features)
      if epsilon != 1e-5 { fields.append((.eps, .real(epsilon))) }
    case .globalAvgPool: start("globalAvgPool")
    case .relu: start("relu")
    case .flatten: start("flatten")
    case .gaussianSample: start("gaussianSample")
    case .softmax: start("softmax")
    }
    return fields
  }
}
