import BulwarkData

extension ImageBatch {
  /// A 64-bit FNV-1a hash of every image's pixel values (their float32 bit patterns, little
  /// endian): equal images have equal fingerprints, so a scorer can tell which images a fitted
  /// postprocessor learnt from without keeping them.
  /// - Returns: One fingerprint per image.
  package func fingerprints() -> [UInt64] {
    let size = shape.valueCount
    return pixels.withUnsafeBufferPointer { values in
      (0..<count).map { image in
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for index in image * size..<(image + 1) * size {
          var bits = values[index].bitPattern
          for _ in 0..<4 {
            hash = (hash ^ UInt64(bits & 0xff)) &* 0x0000_0100_0000_01b3
            bits >>= 8
          }
        }
        return hash
      }
    }
  }

  /// The batch without the images whose fingerprints are in `excluded`, in order.
  /// - Parameter excluded: Fingerprints of images to leave out (see `fingerprints()`).
  /// - Returns: The remaining images.
  package func removing(fingerprints excluded: Set<UInt64>) -> ImageBatch {
    guard !excluded.isEmpty else { return self }
    let prints = fingerprints()
    return selecting(prints.indices.filter { !excluded.contains(prints[$0]) })
  }
}
