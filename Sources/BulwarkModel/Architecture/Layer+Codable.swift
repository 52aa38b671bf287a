/// A layer is a flat JSON object: `{"type":"conv2d","name":"conv1","in":1,"out":6,"kernel":5,
/// "padding":2}`. Fields at their PyTorch default (stride 1, padding 0, groups 1, eps 1e-5) are
/// left out when encoding and optional when decoding; a pooling stride is always written.
extension Layer: Codable {
  enum CodingKeys: String, CodingKey {
    case type, name
    case inputs = "in"
    case outputs = "out"
    case kernel, stride, padding, groups, p, features, eps
  }

  /// Reads a layer from its JSON object.
  /// - Parameter decoder: The decoder.
  /// - Throws: `DecodingError` for an unknown `type` or a missing field.
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
      kind = type == "maxPool2d"
        ? .maxPool2d(kernel: kernel, stride: stride) : .avgPool2d(kernel: kernel, stride: stride)
    case "globalAvgPool": kind = .globalAvgPool
    case "linear": kind = .linear(inFeatures: try int(.inputs), outFeatures: try int(.outputs))
    case "relu": kind = .relu
    case "flatten": kind = .flatten
    case "dropout": kind = .dropout(p: try container.decodeIfPresent(Double.self, forKey: .p) ?? 0.5)
    case "batchNorm2d":
      kind = .batchNorm2d(
        features: try int(.features),
        epsilon: try container.decodeIfPresent(Double.self, forKey: .eps) ?? 1e-5)
    case "softmax": kind = .softmax
    default:
      throw DecodingError.dataCorruptedError(
        forKey: .type, in: container,
        debugDescription: "expected a layer type (conv2d, maxPool2d, avgPool2d, globalAvgPool, "
          + "linear, relu, flatten, dropout, batchNorm2d, softmax), found '\(type)'")
    }
    self.init(name: name, kind)
  }

  /// Writes the layer as one JSON object, `type` first.
  /// - Parameter encoder: The encoder.
  /// - Throws: Errors of the encoder.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    switch kind {
    case .conv2d(let inputs, let outputs, let kernel, let stride, let padding, let groups):
      try container.encode("conv2d", forKey: .type)
      try container.encodeIfPresent(name, forKey: .name)
      try container.encode(inputs, forKey: .inputs)
      try container.encode(outputs, forKey: .outputs)
      try container.encode(kernel, forKey: .kernel)
      if stride != 1 { try container.encode(stride, forKey: .stride) }
      if padding != 0 { try container.encode(padding, forKey: .padding) }
      if groups != 1 { try container.encode(groups, forKey: .groups) }
    case .maxPool2d(let kernel, let stride), .avgPool2d(let kernel, let stride):
      if case .maxPool2d = kind {
        try container.encode("maxPool2d", forKey: .type)
      } else {
        try container.encode("avgPool2d", forKey: .type)
      }
      try container.encodeIfPresent(name, forKey: .name)
      try container.encode(kernel, forKey: .kernel)
      try container.encode(stride, forKey: .stride)
    case .linear(let inputs, let outputs):
      try container.encode("linear", forKey: .type)
      try container.encodeIfPresent(name, forKey: .name)
      try container.encode(inputs, forKey: .inputs)
      try container.encode(outputs, forKey: .outputs)
    case .dropout(let p):
      try container.encode("dropout", forKey: .type)
      try container.encodeIfPresent(name, forKey: .name)
      try container.encode(p, forKey: .p)
    case .batchNorm2d(let features, let epsilon):
      try container.encode("batchNorm2d", forKey: .type)
      try container.encodeIfPresent(name, forKey: .name)
      try container.encode(features, forKey: .features)
      if epsilon != 1e-5 { try container.encode(epsilon, forKey: .eps) }
    case .globalAvgPool, .relu, .flatten, .softmax:
      let type =
        switch kind {
        case .globalAvgPool: "globalAvgPool"
        case .relu: "relu"
        case .flatten: "flatten"
        default: "softmax"
        }
      try container.encode(type, forKey: .type)
      try container.encodeIfPresent(name, forKey: .name)
    }
  }
}
