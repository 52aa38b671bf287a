internal import CBulwarkKernels

/// Max and average pooling over a chunk of CHW images, and global average pooling.
///
/// Bulwark's own layers pool without padding in floor mode; ONNX models add per-axis strides,
/// leading padding (the trailing padding and ceil mode are implied by the output size),
/// dilations and `count_include_pad`. Padded cells never win a maximum.
struct Pooling {
  var planes: Int
  var inHeight: Int
  var inWidth: Int
  var outHeight: Int
  var outWidth: Int
  var kernelHeight: Int
  var kernelWidth: Int
  var stride: Int
  /// The vertical stride; `stride` is the horizontal one.
  var strideY: Int
  var padTop = 0
  var padLeft = 0
  /// Height and width of the padded input (input plus both paddings), for
  /// `count_include_pad`.
  var paddedHeight: Int
  var paddedWidth: Int
  var dilationY = 1
  var dilationX = 1
  /// Average pooling divides by the window cells inside the padded input, not only the real
  /// ones.
  var countIncludePad = false

  /// Pooling of `count` images through `stage`; a global pool is a window of the whole plane.
  init(_ stage: Stage, count: Int, kernel: Int?, stride: Int?) {
    planes = stage.input.channels &* count
    inHeight = stage.input.height
    inWidth = stage.input.width
    outHeight = stage.output.height
    outWidth = stage.output.width
    kernelHeight = kernel ?? inHeight
    kernelWidth = kernel ?? inWidth
    self.stride = stride ?? 1
    strideY = stride ?? 1
    paddedHeight = inHeight
    paddedWidth = inWidth
  }

  /// Pooling with every size given per axis.
  init(
    planes: Int, inHeight: Int, inWidth: Int, outHeight: Int, outWidth: Int,
    kernelHeight: Int, kernelWidth: Int, strideY: Int, strideX: Int, pads: [Int],
    dilationY: Int, dilationX: Int, countIncludePad: Bool
  ) {
    self.planes = planes
    self.inHeight = inHeight
    self.inWidth = inWidth
    self.outHeight = outHeight
    self.outWidth = outWidth
    self.kernelHeight = kernelHeight
    self.kernelWidth = kernelWidth
    self.stride = strideX
    self.strideY = strideY
    padTop = pads[0]
    padLeft = pads[1]
    paddedHeight = inHeight + pads[0] + pads[2]
    paddedWidth = inWidth + pads[1] + pads[3]
    self.dilationY = dilationY
    self.dilationX = dilationX
    self.countIncludePad = countIncludePad
  }

  /// True when windows need no bounds checks: no padding, no dilation, equal strides.
  var isPlain: Bool {
    padTop == 0 && padLeft == 0 && dilationY == 1 && dilationX == 1 && strideY == stride
      && (outHeight &- 1) &* stride &+ kernelHeight <= inHeight
      && (outWidth &- 1) &* stride &+ kernelWidth <= inWidth
  }

  /// The offset of the first maximum of window (oy, ox) among its cells inside the plane, or
  /// -1 for a window wholly in the padding.
  @inline(__always)
  func checkedArgmax(_ plane: UnsafePointer<Float>, _ oy: Int, _ ox: Int) -> Int {
    var best = -1
    var bestValue = -Float.infinity
    for ky in 0..<kernelHeight {
      let iy = oy &* strideY &- padTop &+ ky &* dilationY
      guard iy >= 0 && iy < inHeight else { continue }
      for kx in 0..<kernelWidth {
        let ix = ox &* stride &- padLeft &+ kx &* dilationX
        guard ix >= 0 && ix < inWidth else { continue }
        let index = iy &* inWidth &+ ix
        if best < 0 || plane[index] > bestValue {
          bestValue = plane[index]
          best = index
        }
      }
    }
    return best
  }

  /// Visits the cells of window (oy, ox) inside the plane; returns the divisor of an average.
  @inline(__always)
  func forEachCell(_ oy: Int, _ ox: Int, _ body: (Int) -> Void) -> Int {
    var inside = 0
    var padded = 0
    for ky in 0..<kernelHeight {
      let iy = oy &* strideY &- padTop &+ ky &* dilationY
      let rowPadded = iy >= -padTop && iy < paddedHeight &- padTop
      for kx in 0..<kernelWidth {
        let ix = ox &* stride &- padLeft &+ kx &* dilationX
        if rowPadded && ix >= -padLeft && ix < paddedWidth &- padLeft { padded &+= 1 }
        guard iy >= 0 && iy < inHeight && ix >= 0 && ix < inWidth else { continue }
        inside &+= 1
        body(iy &* inWidth &+ ix)
      }
    }
    return countIncludePad ? padded : inside
  }

  /// The offset, within the plane, of the first maximum of window (oy, ox) in row-major order.
  @inline(__always)
  func argmax(_ plane: UnsafePointer<Float>, _ oy: Int, _ ox: Int) -> Int {
    let top = oy &* stride
    let left = ox &* stride
    var best = top &* inWidth &+ left
    var bestValue = plane[best]
    for ky in 0..<kernelHeight {
      let row = (top &+ ky) &* inWidth &+ left
      for kx in 0..<kernelWidth where plane[row &+ kx] > bestValue {
        bestValue = plane[row &+ kx]
        best = row &+ kx
      }
    }
    return best
  }

  /// Each output is the first maximum of its window's cells inside the plane, in row-major
  /// order (``checkedArgmax(_:_:_:)``'s cell), or 0 for a window wholly in the padding: one
  /// kernel cell at a time over a row of windows (`CBulwarkKernels`). A plain 2x2, stride 2
  /// window compares its rows' first maxima (eight windows per vector step), which picks the same
  /// cell unless a NaN is the first of a pair, and is the cell
  /// ``maxBackward2x2(_:_:_:portable:)`` routes to. A 3x3, stride 2 window padded by one
  /// before a plane twice the output's size (ResNet's stem pooling) runs eight windows per step
  /// and folds the cells in the same order. `portable` forces the kernel's baseline variant,
  /// which gives the same bits (tests compare the two).
  func maxForward(
    _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, portable: Bool = false
  ) {
    bulwark_max_pool_forward(
      planes, inHeight, inWidth, outHeight, outWidth, kernelHeight, kernelWidth, strideY, stride,
      padTop, padLeft, dilationY, dilationX, input, output, portable ? 1 : 0)
  }

  /// Routes each output gradient to the first maximum of its window (as PyTorch).
  func maxBackward(
    _ input: UnsafePointer<Float>, _ outputGradient: UnsafePointer<Float>,
    _ inputGradient: UnsafeMutablePointer<Float>
  ) {
    inputGradient.update(repeating: 0, count: planes &* inHeight &* inWidth)
    if isPlain && kernelHeight == 2 && kernelWidth == 2 && stride == 2 {
      maxBackward2x2(input, outputGradient, inputGradient)
      return
    }
    for p in 0..<planes {
      let plane = input + p &* inHeight &* inWidth
      let target = inputGradient + p &* inHeight &* inWidth
      let gradient = outputGradient + p &* outHeight &* outWidth
      for oy in 0..<outHeight {
        for ox in 0..<outWidth {
          let best = isPlain ? argmax(plane, oy, ox) : checkedArgmax(plane, oy, ox)
          if best >= 0 { target[best] += gradient[oy &* outWidth &+ ox] }
        }
      }
    }
  }

  /// ``maxBackward(_:_:_:)`` for the common 2x2, stride 2 window: each gradient goes to the cell
  /// ``maxForward(_:_:portable:)`` took (the first maximum), into a zeroed input gradient. Every
  /// cell of a window is written (+0 + the gradient, or +0), eight windows per vector step, without a
  /// branch on which one won (`CBulwarkKernels`); `portable` forces the kernel's baseline
  /// variant, which gives the same bits (tests compare the two).
  func maxBackward2x2(
    _ input: UnsafePointer<Float>, _ outputGradient: UnsafePointer<Float>,
    _ inputGradient: UnsafeMutablePointer<Float>, portable: Bool = false
  ) {
    bulwark_max_pool_backward_2x2(
      planes, inHeight, inWidth, outHeight, outWidth, input, outputGradient, inputGradient,
      portable ? 1 : 0)
  }

  func averageForward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
    if !isPlain {
      for p in 0..<planes {
        let plane = input + p &* inHeight &* inWidth
        let out = output + p &* outHeight &* outWidth
        for oy in 0..<outHeight {
          for ox in 0..<outWidth {
            var sum: Float = 0
            let divisor = forEachCell(oy, ox) { sum += plane[$0] }
            out[oy &* outWidth &+ ox] = divisor > 0 ? sum / Float(divisor) : 0
          }
        }
      }
      return
    }
    let scale = 1 / Float(kernelHeight &* kernelWidth)
    for p in 0..<planes {
      let plane = input + p &* inHeight &* inWidth
      let out = output + p &* outHeight &* outWidth
      for oy in 0..<outHeight {
        for ox in 0..<outWidth {
          var sum: Float = 0
          for ky in 0..<kernelHeight {
            let row = (oy &* stride &+ ky) &* inWidth &+ ox &* stride
            for kx in 0..<kernelWidth { sum += plane[row &+ kx] }
          }
          out[oy &* outWidth &+ ox] = sum * scale
        }
      }
    }
  }

  func averageBackward(
    _ outputGradient: UnsafePointer<Float>, _ inputGradient: UnsafeMutablePointer<Float>
  ) {
    let scale = 1 / Float(kernelHeight &* kernelWidth)
    inputGradient.update(repeating: 0, count: planes &* inHeight &* inWidth)
    if !isPlain {
      for p in 0..<planes {
        let target = inputGradient + p &* inHeight &* inWidth
        let gradient = outputGradient + p &* outHeight &* outWidth
        for oy in 0..<outHeight {
          for ox in 0..<outWidth {
            let divisor = forEachCell(oy, ox) { _ in }
            guard divisor > 0 else { continue }
            let share = gradient[oy &* outWidth &+ ox] / Float(divisor)
            _ = forEachCell(oy, ox) { target[$0] += share }
          }
        }
      }
      return
    }
    for p in 0..<planes {
      let target = inputGradient + p &* inHeight &* inWidth
      let gradient = outputGradient + p &* outHeight &* outWidth
      for oy in 0..<outHeight {
        for ox in 0..<outWidth {
          let share = gradient[oy &* outWidth &+ ox] * scale
          for ky in 0..<kernelHeight {
            let row = (oy &* stride &+ ky) &* inWidth &+ ox &* stride
            for kx in 0..<kernelWidth { target[row &+ kx] += share }
          }
        }
      }
    }
  }
}
