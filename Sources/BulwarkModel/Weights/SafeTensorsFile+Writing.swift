import BulwarkCore
import BulwarkData
import Foundation

extension SafeTensorsFile {
  /// The file's bytes, exactly as the reference writer (huggingface/safetensors `serialize`)
  /// produces them.
  ///
  /// Tensors are laid out back to back ordered by dtype, in reverse of the reference's
  /// declaration order (U64, I64, F64, C64, F32, U32, I32, BF16, F16, …, BOOL), then by name
  /// (byte order); the header is compact JSON with `__metadata__` first, escaped as serde_json
  /// escapes, and padded with spaces to a multiple of 8 bytes so the buffer stays aligned.
  /// The reference writes metadata keys in hash-map order, which varies from run to run; this
  /// writer sorts them by bytes, so its output is one of the reference's possible outputs and
  /// is deterministic.
  /// - Returns: The whole file.
  /// - Complexity: O(n) in the total size of the tensors, after sorting the names.
  public func encoded() -> [UInt8] {
    let ordered = tensors.sorted { left, right in
      if left.tensor.dtype != right.tensor.dtype {
        return left.tensor.dtype.rank > right.tensor.dtype.rank
      }
      return left.name.utf8.lexicographicallyPrecedes(right.name.utf8)
    }
    var header: [UInt8] = [UInt8(ascii: "{")]
    var first = true
    func separate() {
      if !first { header.append(UInt8(ascii: ",")) }
      first = false
    }
    if !metadata.isEmpty {
      separate()
      appendJSONString("__metadata__", to: &header)
      header.append(contentsOf: Array(":{".utf8))
      let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
      for (index, key) in keys.enumerated() {
        if index > 0 { header.append(UInt8(ascii: ",")) }
        appendJSONString(key, to: &header)
        header.append(UInt8(ascii: ":"))
        appendJSONString(metadata[key] ?? "", to: &header)
      }
      header.append(UInt8(ascii: "}"))
    }
    var offset = 0
    for (name, tensor) in ordered {
      separate()
      appendJSONString(name, to: &header)
      let shape = tensor.shape.map(String.init).joined(separator: ",")
      let entry =
        ":{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],"
        + "\"data_offsets\":[\(offset),\(offset + tensor.bytes.count)]}"
      header.append(contentsOf: Array(entry.utf8))
      offset += tensor.bytes.count
    }
    header.append(UInt8(ascii: "}"))
    header.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8))

    var file: [UInt8] = []
    file.reserveCapacity(8 + header.count + offset)
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { file.append(contentsOf: $0) }
    file.append(contentsOf: header)
    for (_, tensor) in ordered { file.append(contentsOf: tensor.bytes) }
    return file
  }

  /// Writes the file, replacing any file at `url` atomically.
  /// - Parameter url: Where to write.
  /// - Throws: `FileAccessError` if the file cannot be written.
  public func write(to url: URL) throws {
    try FileAccess.write(Data(encoded()), to: url)
  }
}

/// Appends `text` as a JSON string escaped as serde_json escapes it: `"` and `\`, the short
/// forms `\b \f \n \r \t`, other control characters as `\u00xx` (lower-case hex), everything
/// else (including `/`, DEL and non-ASCII) as UTF-8.
private func appendJSONString(_ text: String, to bytes: inout [UInt8]) {
  bytes.append(UInt8(ascii: "\""))
  for byte in text.utf8 {
    switch byte {
    case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
    case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
    case 0x08: bytes.append(contentsOf: Array("\\b".utf8))
    case 0x0C: bytes.append(contentsOf: Array("\\f".utf8))
    case 0x0A: bytes.append(contentsOf: Array("\\n".utf8))
    case 0x0D: bytes.append(contentsOf: Array("\\r".utf8))
    case 0x09: bytes.append(contentsOf: Array("\\t".utf8))
    case 0..<0x20: bytes.append(contentsOf: Array("\\u00\(hex(byte, digits: 2).lowercased())".utf8))
    default: bytes.append(byte)
    }
  }
  bytes.append(UInt8(ascii: "\""))
}
