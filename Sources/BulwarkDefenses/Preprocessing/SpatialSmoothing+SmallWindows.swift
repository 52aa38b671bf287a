import BulwarkData

extension SpatialSmoothing {
  /// The 2 x 2 and 3 x 3 medians as straight-line SIMD code, 16 output pixels at a time.
  ///
  /// Each column of the window is sorted once and shared by its neighbouring windows. For k = 2
  /// the result (sorted position 2 of 4) is max(min(high0, high1), max(low0, low1)); for k = 3
  /// (position 4 of 9) it is the median of max(lows), median(middles) and min(highs) (Paeth,
  /// Graphics Gems, 1990), exact for any values.
  func smoothSmallWindow(
    target: UnsafeMutablePointer<Float>, shape: ImageShape, scratch: inout MedianScratch
  ) {
    let width = shape.width
    let channels = shape.channels
    let stride = scratch.rowStride
    let plane = UnsafeRawPointer(scratch.plane)
    let columns = UnsafeMutableRawPointer(scratch.columns)
    let outputBlocks = (width &+ 15) / 16
    let row16 = scratch.outputRow
    let byteStride = stride &* 4
    for row in 0..<shape.height {
      let top = plane + row &* byteStride
      for block in 0..<scratch.columnBlocks {
        let offset = block &* 64
        let a = (top + offset).loadUnaligned(as: SIMD16<Float>.self)
        let b = (top + (offset &+ byteStride)).loadUnaligned(as: SIMD16<Float>.self)
        if window == 2 {
          columns.storeBytes(of: minimum(a, b), toByteOffset: offset, as: SIMD16<Float>.self)
          columns.storeBytes(
            of: maximum(a, b), toByteOffset: offset &+ byteStride, as: SIMD16<Float>.self)
        } else {
          let c = (top + (offset &+ 2 &* byteStride)).loadUnaligned(as: SIMD16<Float>.self)
          let low = minimum(a, b)
          let high = maximum(a, b)
          let middle = maximum(low, minimum(high, c))
          columns.storeBytes(of: minimum(low, c), toByteOffset: offset, as: SIMD16<Float>.self)
          columns.storeBytes(of: middle, toByteOffset: offset &+ byteStride, as: SIMD16<Float>.self)
          columns.storeBytes(
            of: maximum(high, c), toByteOffset: offset &+ 2 &* byteStride, as: SIMD16<Float>.self)
        }
      }
      let sorted = UnsafeRawPointer(columns)
      for block in 0..<outputBlocks {
        let offset = block &* 64
        let low0 = (sorted + offset).loadUnaligned(as: SIMD16<Float>.self)
        let low1 = (sorted + (offset &+ 4)).loadUnaligned(as: SIMD16<Float>.self)
        let result: SIMD16<Float>
        if window == 2 {
          let high0 = (sorted + (offset &+ byteStride)).loadUnaligned(as: SIMD16<Float>.self)
          let high1 = (sorted + (offset &+ byteStride &+ 4)).loadUnaligned(as: SIMD16<Float>.self)
          result = maximum(minimum(high0, high1), maximum(low0, low1))
        } else {
          let low2 = (sorted + (offset &+ 8)).loadUnaligned(as: SIMD16<Float>.self)
          let middles = sorted + (offset &+ byteStride)
          let middle0 = middles.loadUnaligned(as: SIMD16<Float>.self)
          let middle1 = (middles + 4).loadUnaligned(as: SIMD16<Float>.self)
          let middle2 = (middles + 8).loadUnaligned(as: SIMD16<Float>.self)
          let highs = middles + byteStride
          let high0 = highs.loadUnaligned(as: SIMD16<Float>.self)
          let high1 = (highs + 4).loadUnaligned(as: SIMD16<Float>.self)
          let high2 = (highs + 8).loadUnaligned(as: SIMD16<Float>.self)
          let largestLow = maximum(maximum(low0, low1), low2)
          let smallestHigh = minimum(minimum(high0, high1), high2)
          let middle = median(middle0, middle1, middle2)
          result = median(largestLow, middle, smallestHigh)
        }
        UnsafeMutableRawPointer(row16).storeBytes(
          of: result, toByteOffset: offset, as: SIMD16<Float>.self)
      }
      let targetRow = target + row &* width &* channels
      for column in 0..<width {
        targetRow[column &* channels] = row16[column]
      }
    }
  }
}

@inline(__always)
func minimum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
  a.replacing(with: b, where: b .< a)
}

@inline(__always)
func maximum(_ a: SIMD16<Float>, _ b: SIMD16<Float>) -> SIMD16<Float> {
  a.replacing(with: b, where: a .< b)
}

@inline(__always)
func median(_ a: SIMD16<Float>, _ b: SIMD16<Float>, _ c: SIMD16<Float>) -> SIMD16<Float> {
  maximum(minimum(a, b), minimum(maximum(a, b), c))
}
