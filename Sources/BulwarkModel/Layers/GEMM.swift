/// Single-precision matrix multiply-accumulate, `C += A · B`, the kernel under convolution and
/// linear layers. `B` and `C` are row-major; `A` is addressed through two strides so that a
/// transposed operand costs nothing: `A(i, p) = a[i * aRowStride + p * aColumnStride]`.
///
/// A 4 x 8 register block: each step broadcasts four values of `A` and loads eight of `B`,
/// so the inner loop issues one vector load per four vector multiply-adds.
enum GEMM {
  /// `C[m x n] += A[m x k] · B[k x n]`.
  /// - Precondition: the buffers hold the addressed elements; validated by the caller.
  static func multiplyAdd(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int,
    b: UnsafePointer<Float>, bRowStride: Int,
    c: UnsafeMutablePointer<Float>, cRowStride: Int
  ) {
    typealias V = SIMD8<Float>
    let rb = UnsafeRawPointer(b)
    let rc = UnsafeMutableRawPointer(c)
    let size = MemoryLayout<Float>.stride
    var i = 0
    while i &+ 4 <= m {
      let a0 = a + i &* aRowStride
      let a1 = a0 + aRowStride
      let a2 = a1 + aRowStride
      let a3 = a2 + aRowStride
      var j = 0
      while j &+ 8 <= n {
        let c0 = (i &* cRowStride &+ j) &* size
        let c1 = c0 &+ cRowStride &* size
        let c2 = c1 &+ cRowStride &* size
        let c3 = c2 &+ cRowStride &* size
        var s0 = rc.loadUnaligned(fromByteOffset: c0, as: V.self)
        var s1 = rc.loadUnaligned(fromByteOffset: c1, as: V.self)
        var s2 = rc.loadUnaligned(fromByteOffset: c2, as: V.self)
        var s3 = rc.loadUnaligned(fromByteOffset: c3, as: V.self)
        var bOffset = j &* size
        var aOffset = 0
        for _ in 0..<k {
          let bv = rb.loadUnaligned(fromByteOffset: bOffset, as: V.self)
          s0 += V(repeating: a0[aOffset]) * bv
          s1 += V(repeating: a1[aOffset]) * bv
          s2 += V(repeating: a2[aOffset]) * bv
          s3 += V(repeating: a3[aOffset]) * bv
          bOffset &+= bRowStride &* size
          aOffset &+= aColumnStride
        }
        rc.storeBytes(of: s0, toByteOffset: c0, as: V.self)
        rc.storeBytes(of: s1, toByteOffset: c1, as: V.self)
        rc.storeBytes(of: s2, toByteOffset: c2, as: V.self)
        rc.storeBytes(of: s3, toByteOffset: c3, as: V.self)
        j &+= 8
      }
      while j < n {
        var s0 = c[i &* cRowStride &+ j]
        var s1 = c[(i &+ 1) &* cRowStride &+ j]
        var s2 = c[(i &+ 2) &* cRowStride &+ j]
        var s3 = c[(i &+ 3) &* cRowStride &+ j]
        var aOffset = 0
        for p in 0..<k {
          let bv = b[p &* bRowStride &+ j]
          s0 += a0[aOffset] * bv
          s1 += a1[aOffset] * bv
          s2 += a2[aOffset] * bv
          s3 += a3[aOffset] * bv
          aOffset &+= aColumnStride
        }
        c[i &* cRowStride &+ j] = s0
        c[(i &+ 1) &* cRowStride &+ j] = s1
        c[(i &+ 2) &* cRowStride &+ j] = s2
        c[(i &+ 3) &* cRowStride &+ j] = s3
        j &+= 1
      }
      i &+= 4
    }
    if i &+ 2 <= m {
      multiplyAddTwoRows(
        n: n, k: k, a: a + i &* aRowStride, aRowStride: aRowStride, aColumnStride: aColumnStride,
        b: b, bRowStride: bRowStride, c: c + i &* cRowStride, cRowStride: cRowStride)
      i &+= 2
    }
    while i < m {
      let a0 = a + i &* aRowStride
      var j = 0
      while j &+ 8 <= n {
        let c0 = (i &* cRowStride &+ j) &* size
        var s0 = rc.loadUnaligned(fromByteOffset: c0, as: V.self)
        var bOffset = j &* size
        var aOffset = 0
        for _ in 0..<k {
          s0 += V(repeating: a0[aOffset]) * rb.loadUnaligned(fromByteOffset: bOffset, as: V.self)
          bOffset &+= bRowStride &* size
          aOffset &+= aColumnStride
        }
        rc.storeBytes(of: s0, toByteOffset: c0, as: V.self)
        j &+= 8
      }
      while j < n {
        var s0 = c[i &* cRowStride &+ j]
        var aOffset = 0
        for p in 0..<k {
          s0 += a0[aOffset] * b[p &* bRowStride &+ j]
          aOffset &+= aColumnStride
        }
        c[i &* cRowStride &+ j] = s0
        j &+= 1
      }
      i &+= 1
    }
  }

  /// Two rows of `C`: the tail of an odd-sized block.
  static func multiplyAddTwoRows(
    n: Int, k: Int, a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int,
    b: UnsafePointer<Float>, bRowStride: Int, c: UnsafeMutablePointer<Float>, cRowStride: Int
  ) {
    typealias V = SIMD8<Float>
    let rb = UnsafeRawPointer(b)
    let rc = UnsafeMutableRawPointer(c)
    let size = MemoryLayout<Float>.stride
    let a1 = a + aRowStride
    var j = 0
    while j &+ 8 <= n {
      let c0 = j &* size
      let c1 = c0 &+ cRowStride &* size
      var s0 = rc.loadUnaligned(fromByteOffset: c0, as: V.self)
      var s1 = rc.loadUnaligned(fromByteOffset: c1, as: V.self)
      var bOffset = j &* size
      var aOffset = 0
      for _ in 0..<k {
        let bv = rb.loadUnaligned(fromByteOffset: bOffset, as: V.self)
        s0 += V(repeating: a[aOffset]) * bv
        s1 += V(repeating: a1[aOffset]) * bv
        bOffset &+= bRowStride &* size
        aOffset &+= aColumnStride
      }
      rc.storeBytes(of: s0, toByteOffset: c0, as: V.self)
      rc.storeBytes(of: s1, toByteOffset: c1, as: V.self)
      j &+= 8
    }
    while j < n {
      var s0 = c[j]
      var s1 = c[cRowStride &+ j]
      var aOffset = 0
      for p in 0..<k {
        let bv = b[p &* bRowStride &+ j]
        s0 += a[aOffset] * bv
        s1 += a1[aOffset] * bv
        aOffset &+= aColumnStride
      }
      c[j] = s0
      c[cRowStride &+ j] = s1
      j &+= 1
    }
  }
}
