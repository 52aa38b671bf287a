import BulwarkData
import Foundation

extension Network {
  /// The `__metadata__` key that holds the architecture as a JSON string.
  public static let architectureMetadataKey = "architecture"

  /// Loads a frozen classifier from a Bulwark model file: a safetensors file whose tensors carry
  /// PyTorch `state_dict` names and layouts and whose `__metadata__` holds the architecture.
  /// - Parameters:
  ///   - url: The `.safetensors` file.
  ///   - options: Threads to use.
  /// - Throws: `FormatError` naming the file and the field for a file that breaks a safetensors
  ///   rule, lacks the architecture, or whose tensors do not fit it (missing, extra, wrong
  ///   shape, NaN or infinite values).
  public init(contentsOf url: URL, options: ComputeOptions = .init()) throws {
    try self.init(safeTensors: SafeTensorsFile(contentsOf: url), options: options)
  }

  /// Builds a network from a decoded Bulwark model file.
  /// - Parameters:
  ///   - file: The safetensors contents.
  ///   - options: Threads to use.
  /// - Throws: `FormatError` as for ``init(contentsOf:options:)``.
  public init(safeTensors file: SafeTensorsFile, options: ComputeOptions = .init()) throws {
    let key = Self.architectureMetadataKey
    guard let json = file.metadata[key] else {
      throw FormatError(
        file: file.source, location: .field("__metadata__.\(key)"),
        expected: "the architecture as a JSON string (a Bulwark model file)", found: "no such key")
    }
    let architecture: Architecture
    let expected: [ParameterTensor]
    do {
      architecture = try Architecture(jsonString: json)
      expected = try architecture.stages().tensors
    } catch let error as ModelError {
      throw FormatError(
        file: file.source, location: .field("__metadata__.\(key).\(error.field)"),
        expected: error.expected, found: error.found)
    }
    // The architecture's shapes are checked against the tensors present before anything is
    // read or allocated for them.
    for tensor in expected {
      guard let present = file[tensor.name] else {
        throw FormatError(
          file: file.source, location: .field(tensor.name),
          expected: "a tensor of shape \(tensor.shape)", found: "none")
      }
      guard present.shape == tensor.shape else {
        throw FormatError(
          file: file.source, location: .field("\(tensor.name).shape"),
          expected: "\(tensor.shape)", found: "\(present.shape)")
      }
    }
    var parameters: [String: [Float]] = [:]
    for (name, _) in file.tensors {
      // PyTorch saves batch norm's step counter (an I64 scalar); inference never reads it.
      if name.hasSuffix(".num_batches_tracked") { continue }
      parameters[name] = try file.floats(named: name)
    }
    do {
      try self.init(architecture: architecture, parameters: parameters, options: options)
    } catch let error as ModelError {
      throw FormatError(
        file: file.source, location: .field(error.field), expected: error.expected,
        found: error.found)
    }
  }

  /// The network as a Bulwark model file: every tensor as F32 under its `state_dict` name,
  /// each batch norm's `num_batches_tracked` as an I64 zero (so PyTorch's strict
  /// `load_state_dict` accepts the file), and the architecture plus `format: pt` in the
  /// metadata.
  /// - Parameter metadata: Extra metadata entries (training command, seed, accuracy).
  /// - Returns: The file's contents.
  public func safeTensorsFile(metadata: [String: String] = [:]) -> SafeTensorsFile {
    var tensors = namedParameters().map {
      (name: $0.name, tensor: SafeTensor($0.values, shape: $0.shape))
    }
    for layer in architecture.layers {
      if case .batchNorm2d = layer.kind, let name = layer.name {
        tensors.append(
          (name: "\(name).num_batches_tracked", tensor: SafeTensor([0] as [Int64], shape: [])))
      }
    }
    var entries = metadata
    entries["format"] = "pt"
    entries[Self.architectureMetadataKey] = architecture.jsonString()
    return SafeTensorsFile(tensors: tensors, metadata: entries)
  }

  /// Writes the network as a Bulwark model file, atomically (a reader never sees half a file).
  /// - Parameters:
  ///   - url: The destination.
  ///   - metadata: Extra metadata entries.
  /// - Throws: File-system errors.
  public func write(to url: URL, metadata: [String: String] = [:]) throws {
    try safeTensorsFile(metadata: metadata).write(to: url)
  }
}
