import BulwarkData

extension FuzzTarget {
  static func readNPY(_ bytes: [UInt8], file: String) throws {
    _ = try NPYFile.decode(bytes, file: file)
  }

  static func readNPZ(_ bytes: [UInt8], file: String) throws {
    let archive = try NPZArchive(decoding: bytes, file: file)
    _ = try ImageBatch(npz: archive, file: file)
  }

  static func readIDX(_ bytes: [UInt8], file: String) throws {
    _ = try IDXFile.decode(bytes, file: file)
  }

  /// A gzip file (by its magic bytes) for the gzip reader; anything else for the raw inflater
  /// that zip members use, as a two-byte little-endian declared size and the deflate stream.
  static func readGzip(_ bytes: [UInt8], file: String) throws {
    if Zlib.isGzip(bytes) {
      _ = try Zlib.gunzip(bytes, file: file)
    } else if bytes.count >= 2 {
      let declared = Int(bytes[0]) | Int(bytes[1]) << 8
      _ = try Zlib.inflateRaw(
        Array(bytes.dropFirst(2)), expectedSize: declared, file: file, member: "raw")
    }
  }

  static func readPNG(_ bytes: [UInt8]) throws {
    _ = try PNGCodec.decode(bytes)
  }

  static func readJPEG(_ bytes: [UInt8]) throws {
    _ = try JPEGCodec.decode(bytes)
  }
}
