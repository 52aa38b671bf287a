/// Nearest-neighbour upsampling of a chunk of CHW images by an integer factor: every input
/// value fills a `factor x factor` block of the output (PyTorch
/// `Upsample(scale_factor, mode="nearest")`, whose source index is `floor(out / factor)`).
struct Upsampling {
  var planes: Int
  var inHeight: Int
  var inWidth: Int
  var factor: Int

  /// Upsampling of `count` images through `stage`.
  init(_ stage: Stage, count: Int, factor: Int) {
    planes = stage.input.channels &* count
    inHeight = stage.input.height
    inWidth = stage.input.width
    self.factor = factor
  }

  /// Copies each value into its block.
  func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
    let outWidth = inWidth &* factor
    var target = output
    for p in 0..<planes {
      let plane = input + p &* inHeight &* inWidth
      for y in 0..<inHeight {
        let row = plane + y &* inWidth
        let first = target
        for x in 0..<inWidth {
          let value = row[x]
          for k in 0..<factor { target[x &* factor &+ k] = value }
        }
        target += outWidth
        // The other rows of the block repeat the first.
        for _ in 1..<factor {
          target.update(from: first, count: outWidth)
          target += outWidth
        }
      }
    }
  }

  /// The gradient: each input value receives the sum of its block's gradients, added in
  /// row-major order within the block.
  func backward(_ upstream: UnsafePointer<Float>, _ downstream: UnsafeMutablePointer<Float>) {
    let outWidth = inWidth &* factor
    for p in 0..<planes {
      let source = upstream + p &* inHeight &* factor &* outWidth
      let plane = downstream + p &* inHeight &* inWidth
      for y in 0..<inHeight {
        let block = source + y &* factor &* outWidth
        for x in 0..<inWidth {
          var sum: Float = 0
          for ky in 0..<factor {
            let row = block + (ky &* outWidth &+ x &* factor)
            for kx in 0..<factor { sum += row[kx] }
          }
          plane[y &* inWidth &+ x] = sum
        }
      }
    }
  }
}
