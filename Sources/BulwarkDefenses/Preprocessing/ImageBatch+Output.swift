import BulwarkData

extension ImageBatch {
  /// A batch with the same shape, labels and class names whose pixels `body` writes, every one
  /// of them, from this batch's pixels; no copy of the input is made first.
  func withPixels(
    writtenBy body: (_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) -> Void
  ) -> ImageBatch {
    let count = pixels.count
    let output = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
      pixels.withUnsafeBufferPointer { input in
        if let source = input.baseAddress, let target = buffer.baseAddress {
          body(source, target)
        }
      }
      initialized = count
    }
    var result = self
    result.pixels = output
    return result
  }
}
