import BulwarkCore
import BulwarkData
import Synchronization

extension ImageBatch {
  /// A batch of the same shape, labels and class names whose images `transform` writes, one
  /// image at a time, spread over threads: the per-image loop of a defense. Every image is
  /// computed the same way whichever thread takes it, so the result never depends on `threads`.
  ///
  /// ```swift
  /// func process(_ batch: ImageBatch) throws -> ImageBatch {
  ///   try batch.mappingImages { image, source, target in
  ///     for index in source.indices { target[index] = 1 - source[index] }
  ///   }
  /// }
  /// ```
  /// - Parameters:
  ///   - threads: The most threads to use; nil (the default) for every active core.
  ///   - transform: Called with an image's index, its values (NHWC) and room for as many
  ///     output values, all of which it must write. It may be called concurrently.
  /// - Returns: The transformed batch.
  /// - Throws: The error of the first image, in image order, whose transform threw (nothing
  ///   when `transform` cannot throw).
  public func mappingImages<Failure: Error>(
    threads: Int? = nil,
    _ transform:
      @Sendable (
        _ image: Int, _ source: UnsafeBufferPointer<Float>,
        _ target: UnsafeMutableBufferPointer<Float>
      ) throws(Failure) -> Void
  ) throws(Failure) -> ImageBatch {
    let size = shape.valueCount
    return try mappingImageChunks(
      chunkSize: 16, threads: threads ?? Parallel.defaultThreadCount
    ) { images, source, target throws(Failure) in
      for (offset, image) in images.enumerated() {
        try transform(
          image, UnsafeBufferPointer(start: source + offset * size, count: size),
          UnsafeMutableBufferPointer(start: target + offset * size, count: size))
      }
    }
  }

  /// A batch of the same shape, labels and class names whose images `transform` writes, a
  /// chunk of consecutive images at a time (for defenses that set up scratch buffers once per
  /// chunk), spread over threads; the result never depends on `threads`.
  /// - Parameters:
  ///   - chunkSize: Images per chunk, at least 1.
  ///   - threads: The most threads to use.
  ///   - transform: Called with the chunk's image range, the first of its images' values and
  ///     room for as many output values (NHWC, consecutive images), all of which it must write.
  ///     It may be called concurrently.
  /// - Returns: The transformed batch.
  /// - Throws: The error of the first chunk, in image order, whose transform threw (nothing
  ///   when `transform` cannot throw).
  public func mappingImageChunks<Failure: Error>(
    chunkSize: Int, threads: Int,
    _ transform:
      @Sendable (
        _ images: Range<Int>, _ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>
      ) throws(Failure) -> Void
  ) throws(Failure) -> ImageBatch {
    precondition(chunkSize >= 1, "chunks hold at least one image")
    let size = shape.valueCount
    let chunks = (count + chunkSize - 1) / chunkSize
    let failures = Mutex([Int: Failure]())
    let output = [Float](unsafeUninitializedCapacity: pixels.count) { buffer, initialized in
      pixels.withUnsafeBufferPointer { input in
        guard let source = input.baseAddress, let target = buffer.baseAddress else { return }
        let shared = (source: SharedPointer(reading: source), target: SharedPointer(base: target))
        Parallel.forEachChunk(count: count, chunkSize: chunkSize, threads: threads) { images in
          do throws(Failure) {
            try transform(
              images, UnsafePointer(shared.source.base + images.lowerBound * size),
              shared.target.base + images.lowerBound * size)
          } catch {
            failures.withLock { $0[images.lowerBound / chunkSize] = error }
          }
        }
      }
      initialized = pixels.count
    }
    let thrown = failures.withLock { $0 }
    if let first = (0..<chunks).lazy.compactMap({ thrown[$0] }).first { throw first }
    var result = self
    result.pixels = output
    return result
  }
}
