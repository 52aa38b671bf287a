/// Max and average pooling over a chunk of CHW images (no padding, floor mode), and global
/// average pooling.
struct Pooling {
  var planes: Int
  var inHeight: Int
  var inWidth: Int
  var outHeight: Int
  var outWidth: Int
  var kernelHeight: Int
  var kernelWidth: Int
  var stride: Int

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

  func maxForward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
    if kernelHeight == 2 && kernelWidth == 2 && stride == 2 {
      maxForward2x2(input, output)
      return
    }
    for p in 0..<planes {
      let plane = input + p &* inHeight &* inWidth
      let out = output + p &* outHeight &* outWidth
      for oy in 0..<outHeight {
        for ox in 0..<outWidth {
          out[oy &* outWidth &+ ox] = plane[argmax(plane, oy, ox)]
        }
      }
    }
  }

  /// The common 2x2, stride 2 window, without the general window loops.
  func maxForward2x2(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
    for p in 0..<planes {
      let plane = input + p &* inHeight &* inWidth
      let out = output + p &* outHeight &* outWidth
      for oy in 0..<outHeight {
        let top = plane + 2 &* oy &* inWidth
        let bottom = top + inWidth
        let row = out + oy &* outWidth
        for ox in 0..<outWidth {
          let x = 2 &* ox
          let upper = top[x &+ 1] > top[x] ? top[x &+ 1] : top[x]
          let lower = bottom[x &+ 1] > bottom[x] ? bottom[x &+ 1] : bottom[x]
          row[ox] = lower > upper ? lower : upper
        }
      }
    }
  }

  /// Routes each output gradient to the first maximum of its window (as PyTorch).
  func maxBackward(
    _ input: UnsafePointer<Float>, _ outputGradient: UnsafePointer<Float>,
    _ inputGradient: UnsafeMutablePointer<Float>
  ) {
    inputGradient.update(repeating: 0, count: planes &* inHeight &* inWidth)
    for p in 0..<planes {
      let plane = input + p &* inHeight &* inWidth
      let target = inputGradient + p &* inHeight &* inWidth
      let gradient = outputGradient + p &* outHeight &* outWidth
      for oy in 0..<outHeight {
        for ox in 0..<outWidth {
          target[argmax(plane, oy, ox)] += gradient[oy &* outWidth &+ ox]
        }
      }
    }
  }

  func averageForward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
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
