import BulwarkData

extension SpatialSmoothing {
  /// The exact subgradient of the median filter, for attacks that see the defense as it is
  /// (Athalye et al. 2018 use it in place of BPDA for median filters): every output value is one
  /// of its window's input values, so its gradient flows to that input pixel alone (the first
  /// in row-major window order among equal values, reflect border included). Where `clipRange`
  /// clipped the median, the output is flat and gets no gradient.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the output, one value per pixel value.
  ///   - input: The filter's input.
  /// - Returns: The gradient with respect to `input`.
  /// - Complexity: O(N·H·W·C·k²).
  public func backward(gradient: [Float], input: ImageBatch) -> [Float] {
    precondition(gradient.count == input.pixels.count, "one gradient value per pixel value")
    // The medians before any clipping; the window was validated when this filter was made.
    let unclipped = (try? SpatialSmoothing(window: window))?.process(input) ?? process(input)
    let shape = input.shape
    let (height, width, channels) = (shape.height, shape.width, shape.channels)
    let size = shape.valueCount
    let low = -(window / 2)
    var result = [Float](repeating: 0, count: gradient.count)
    for image in 0..<input.count {
      let base = image * size
      for row in 0..<height {
        for column in 0..<width {
          for channel in 0..<channels {
            let at = base + (row * width + column) * channels + channel
            let median = unclipped.pixels[at]
            if let clipRange, median < clipRange.lower || median > clipRange.upper { continue }
            search: for dy in low..<(low + window) {
              let sourceRow = Self.reflect(row + dy, height)
              for dx in low..<(low + window) {
                let source =
                  base + (sourceRow * width + Self.reflect(column + dx, width)) * channels
                  + channel
                if input.pixels[source] == median {
                  result[source] += gradient[at]
                  break search
                }
              }
            }
          }
        }
      }
    }
    return result
  }

}
