import Foundation

extension ImageBatch {
  /// Reads an IDX images file (N x H x W or N x H x W x C unsigned bytes) and its IDX labels
  /// file (N unsigned bytes), gzipped or not, scaling bytes to [0, 1] by dividing by 255.
  /// - Parameters:
  ///   - images: The images file (`…-images-idx3-ubyte[.gz]`).
  ///   - labels: The labels file (`…-labels-idx1-ubyte[.gz]`).
  /// - Throws: `FormatError` when either file is malformed, of the wrong element type or rank,
  ///   or when the two counts differ.
  public init(idxImages images: URL, labels: URL) throws {
    let imageArray = try IDXFile.read(from: images)
    let labelArray = try IDXFile.read(from: labels)
    guard case .uint8(let bytes) = imageArray.storage, (3...4).contains(imageArray.shape.count)
    else {
      throw FormatError(
        file: images.path, location: .field("dimensions"),
        expected: "unsigned bytes of rank 3 (N x H x W) or 4 (N x H x W x C)",
        found: "\(imageArray.elementDescription) of shape \(imageArray.shape)")
    }
    guard case .uint8(let labelBytes) = labelArray.storage, labelArray.shape.count == 1 else {
      throw FormatError(
        file: labels.path, location: .field("dimensions"),
        expected: "unsigned bytes of rank 1 (N labels)",
        found: "\(labelArray.elementDescription) of shape \(labelArray.shape)")
    }
    guard labelBytes.count == imageArray.shape[0] else {
      throw FormatError(
        file: labels.path, location: .field("dimensions"),
        expected: "\(imageArray.shape[0]) labels, one per image of \(images.lastPathComponent)",
        found: "\(labelBytes.count)")
    }
    let dims = imageArray.shape
    guard dims[1] > 0, dims[2] > 0, dims.count == 3 || dims[3] > 0 else {
      throw FormatError(
        file: images.path, location: .field("dimensions"), expected: "non-zero image dimensions",
        found: "\(dims)")
    }
    let shape = ImageShape(height: dims[1], width: dims[2], channels: dims.count == 4 ? dims[3] : 1)
    self.init(
      shape: shape, pixels: Self.unitFloats(fromBytes: bytes), labels: labelBytes.map(Int.init))
  }

  /// Bytes scaled to [0, 1]: each value is `Float(byte) / 255`, which equals NumPy's
  /// `(bytes / 255).astype(np.float32)` for every byte.
  static func unitFloats(fromBytes bytes: [UInt8]) -> [Float] {
    let table = (0...255).map { Float($0) / 255 }
    return table.withUnsafeBufferPointer { table in
      bytes.map { table[Int($0)] }
    }
  }
}
