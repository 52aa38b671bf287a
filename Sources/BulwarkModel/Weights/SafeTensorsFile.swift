import BulwarkData

/// The contents of a safetensors file: named tensors, in order, and string metadata.
///
/// Implements the format of huggingface/safetensors: an 8-byte little-endian header length,
/// a JSON header naming each tensor's dtype, shape and byte range, then the data buffer.
/// Reading rejects every malformed case the reference rejects, plus duplicate names; writing
/// produces the reference writer's bytes. Bulwark keeps a native model in one such file: its
/// weights, and its architecture as JSON in `metadata`.
public struct SafeTensorsFile: Equatable, Sendable {
  /// The tensor names, in order: the header's order for a file that was read, insertion order
  /// otherwise. (Writing orders tensors as the reference does, whatever this order.)
  public private(set) var names: [String]
  private var tensorsByName: [String: SafeTensor]
  /// The header's `__metadata__`: string keys to string values. An empty dictionary writes no
  /// `__metadata__` entry.
  public var metadata: [String: String]
  /// The file's path, or a description of an in-memory source; errors name it. Not part of
  /// equality.
  public var source: String

  /// Creates a file's contents from tensors and metadata.
  /// - Parameters:
  ///   - tensors: The tensors with their names, in order.
  ///   - metadata: String metadata, written as `__metadata__`.
  ///   - source: What errors call the file.
  /// - Precondition: names are unique and none is `__metadata__`.
  public init(
    tensors: [(name: String, tensor: SafeTensor)] = [], metadata: [String: String] = [:],
    source: String = "safetensors"
  ) {
    self.names = []
    self.tensorsByName = [:]
    self.metadata = metadata
    self.source = source
    for (name, tensor) in tensors {
      precondition(tensorsByName[name] == nil, "duplicate tensor name '\(name)'")
      self[name] = tensor
    }
  }

  /// The tensors with their names, in `names` order.
  public var tensors: [(name: String, tensor: SafeTensor)] {
    names.compactMap { name in tensorsByName[name].map { (name, $0) } }
  }

  /// The tensor of the given name; setting a new name appends it, setting `nil` removes it.
  /// - Parameter name: The tensor's name, e.g. `conv1.weight`.
  /// - Precondition: a name set is not `__metadata__`, which the format reserves.
  public subscript(name: String) -> SafeTensor? {
    get { tensorsByName[name] }
    set {
      if let newValue {
        precondition(name != "__metadata__", "'__metadata__' is reserved for metadata")
        if tensorsByName.updateValue(newValue, forKey: name) == nil { names.append(name) }
      } else if tensorsByName.removeValue(forKey: name) != nil {
        names.removeAll { $0 == name }
      }
    }
  }

  /// A tensor's elements as float32, with errors naming this file and the tensor.
  /// - Parameter name: The tensor's name.
  /// - Returns: The elements in row-major order (F16, BF16 and F64 converted).
  /// - Throws: `FormatError` at field `name` if there is no such tensor, or at `name.dtype` if
  ///   it is not a floating-point tensor.
  public func floats(named name: String) throws(FormatError) -> [Float] {
    guard let tensor = tensorsByName[name] else {
      throw FormatError(
        file: source, location: .field(name), expected: "a tensor named '\(name)'",
        found: "none")
    }
    return try tensor.floats(field: "\(name).dtype", file: source)
  }

  /// Whether two files hold the same tensors in the same order and the same metadata,
  /// whatever their sources.
  public static func == (lhs: Self, rhs: Self) -> Bool {
    lhs.names == rhs.names && lhs.tensorsByName == rhs.tensorsByName
      && lhs.metadata == rhs.metadata
  }
}
