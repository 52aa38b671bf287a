internal import CBulwarkKernels

/// Single-precision matrix multiply-accumulate, `C += A · B`, the kernel under convolution and
/// linear layers. `B` and `C` are row-major; `A` is addressed through two strides so that a
/// transposed operand costs nothing: `A(i, p) = a[i * aRowStride + p * aColumnStride]`.
///
/// Where the CPU has AVX2 and FMA, the cache-blocked C kernel of `CBulwarkKernels` does the
/// work (packed 6 x 16 tiles, fused multiply-adds). Elsewhere a portable Swift kernel does:
/// `A` is packed four rows at a time into `[p][row]` order, so the inner loop reads it
/// sequentially whatever its strides, and a 4 x 8 register block broadcasts four values of `A`
/// and loads eight of `B` per step, columns taken in panels of 128 so a `k x 128` panel of `B`
/// stays in cache while all rows pass over it. Either way every element of `C` adds its `k`
/// products in the order `p = 0, 1, …, k - 1`, so how the caller splits a product into calls
/// (images per call, say) never changes a result on a given CPU.
enum GEMM {
  static let panelWidth = 128

  /// Whether the CPU runs the AVX2 + FMA kernel (`CBulwarkKernels`); the SIMD8 kernel below
  /// serves the other CPUs.
  static let usesAVX2 = bulwark_gemm_avx2_available() != 0

  /// A left operand packed once in the AVX2 kernel's layout, for products that reuse it (a
  /// layer's weights over the images of a pass). The results are those of the unpacked operand.
  struct PackedOperand: Sendable {
    /// The operand's rows and columns.
    var m: Int
    var k: Int
    var values: [Float]

    /// Packs `A[m x k]` (addressed as in ``GEMM/multiplyAdd(m:n:k:a:aRowStride:aColumnStride:packed:b:bRowStride:c:cRowStride:)``),
    /// or returns nil where the CPU runs the portable kernel, which reads `A` as it is.
    init?(m: Int, k: Int, a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int) {
      guard GEMM.usesAVX2, m > 0, k > 0 else { return nil }
      self.m = m
      self.k = k
      values = [Float](unsafeUninitializedCapacity: bulwark_gemm_packed_size(m, k)) {
        buffer, initialized in
        bulwark_gemm_pack(
          m, k, a, aRowStride, aColumnStride, buffer.baseAddress.unsafelyUnwrapped)
        initialized = buffer.count
      }
    }
  }

  /// `C[m x n] += A[m x k] · B[k x n]`; `packed`, when given, is `A` packed, which the AVX2
  /// kernel then reads instead of `a`.
  /// - Precondition: the buffers hold the addressed elements; validated by the caller.
  static func multiplyAdd(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int, packed: PackedOperand? = nil,
    b: UnsafePointer<Float>, bRowStride: Int,
    c: UnsafeMutablePointer<Float>, cRowStride: Int
  ) {
    if usesAVX2 {
      let done: Int32
      if let packed {
        precondition(packed.m == m && packed.k == k, "a packed operand of another shape")
        done = packed.values.withUnsafeBufferPointer {
          bulwark_gemm_avx2_packed(
            m, n, k, $0.baseAddress.unsafelyUnwrapped, b, bRowStride, c, cRowStride)
        }
      } else {
        done = bulwark_gemm_avx2(
          m, n, k, a, aRowStride, aColumnStride, b, bRowStride, c, cRowStride)
      }
      if done != 0 { return }
    }
    portableMultiplyAdd(
      m: m, n: n, k: k, a: a, aRowStride: aRowStride, aColumnStride: aColumnStride, b: b,
      bRowStride: bRowStride, c: c, cRowStride: cRowStride)
  }

  /// `C[m x n] += A[m x k] · B[k x n]` with the portable Swift kernel, whatever the CPU.
  /// - Precondition: the buffers hold the addressed elements; validated by the caller.
  static func portableMultiplyAdd(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int,
    b: UnsafePointer<Float>, bRowStride: Int,
    c: UnsafeMutablePointer<Float>, cRowStride: Int
  ) {
    guard m > 0, n > 0, k > 0 else { return }
    let blocks = (m &+ 3) / 4
    // Packed A, then a row of scratch that absorbs the missing rows of a last partial block.
    // The spare row is written one panel at a time, so it needs a panel's width, not n.
    let spareWidth = min(n, panelWidth)
    let packed = UnsafeMutablePointer<Float>.allocate(capacity: blocks &* 4 &* k &+ spareWidth)
    defer { packed.deallocate() }
    let spare = packed + blocks &* 4 &* k
    spare.initialize(repeating: 0, count: spareWidth)
    for block in 0..<blocks {
      let target = packed + block &* 4 &* k
      for row in 0..<4 {
        let i = block &* 4 &+ row
        if i < m {
          let source = a + i &* aRowStride
          for p in 0..<k { target[p &* 4 &+ row] = source[p &* aColumnStride] }
        } else {
          for p in 0..<k { target[p &* 4 &+ row] = 0 }
        }
      }
    }
    var column = 0
    while column < n {
      let width = min(panelWidth, n &- column)
      for block in 0..<blocks {
        let i = block &* 4
        func row(_ r: Int) -> UnsafeMutablePointer<Float> {
          i &+ r < m ? c + ((i &+ r) &* cRowStride &+ column) : spare
        }
        if m &- i <= 2 {
          // A last block of one or two rows: half the work of a padded 4-row block.
          kernel2(
            k: k, n: width, packed: packed + block &* 4 &* k, b: b + column,
            bRowStride: bRowStride, c0: row(0), c1: row(1))
        } else {
          kernel(
            k: k, n: width, packed: packed + block &* 4 &* k, b: b + column,
            bRowStride: bRowStride, c0: row(0), c1: row(1), c2: row(2), c3: row(3))
        }
      }
      column &+= width
    }
  }

  /// Four rows of `C` (`c0`…`c3`, `n` columns each) += packed A block · B.
  @inline(__always)
  static func kernel(
    k: Int, n: Int, packed: UnsafePointer<Float>, b: UnsafePointer<Float>, bRowStride: Int,
    c0: UnsafeMutablePointer<Float>, c1: UnsafeMutablePointer<Float>,
    c2: UnsafeMutablePointer<Float>, c3: UnsafeMutablePointer<Float>
  ) {
    typealias V = SIMD8<Float>
    let rb = UnsafeRawPointer(b)
    let size = MemoryLayout<Float>.stride
    let bStride = bRowStride &* size
    var j = 0
    while j &+ 8 <= n {
      let offset = j &* size
      var s0 = UnsafeRawPointer(c0).loadUnaligned(fromByteOffset: offset, as: V.self)
      var s1 = UnsafeRawPointer(c1).loadUnaligned(fromByteOffset: offset, as: V.self)
      var s2 = UnsafeRawPointer(c2).loadUnaligned(fromByteOffset: offset, as: V.self)
      var s3 = UnsafeRawPointer(c3).loadUnaligned(fromByteOffset: offset, as: V.self)
      var bOffset = offset
      var pa = packed
      for _ in 0..<k {
        let bv = rb.loadUnaligned(fromByteOffset: bOffset, as: V.self)
        s0 += V(repeating: pa[0]) * bv
        s1 += V(repeating: pa[1]) * bv
        s2 += V(repeating: pa[2]) * bv
        s3 += V(repeating: pa[3]) * bv
        bOffset &+= bStride
        pa += 4
      }
      UnsafeMutableRawPointer(c0).storeBytes(of: s0, toByteOffset: offset, as: V.self)
      UnsafeMutableRawPointer(c1).storeBytes(of: s1, toByteOffset: offset, as: V.self)
      UnsafeMutableRawPointer(c2).storeBytes(of: s2, toByteOffset: offset, as: V.self)
      UnsafeMutableRawPointer(c3).storeBytes(of: s3, toByteOffset: offset, as: V.self)
      j &+= 8
    }
    while j < n {
      var s = SIMD4<Float>(c0[j], c1[j], c2[j], c3[j])
      var pa = packed
      var bIndex = j
      for _ in 0..<k {
        s +=
          UnsafeRawPointer(pa).loadUnaligned(as: SIMD4<Float>.self)
          * SIMD4(repeating: b[bIndex])
        bIndex &+= bRowStride
        pa += 4
      }
      c0[j] = s[0]
      c1[j] = s[1]
      c2[j] = s[2]
      c3[j] = s[3]
      j &+= 1
    }
  }

  /// Two rows of `C` += the first two rows of a packed A block · B.
  @inline(__always)
  static func kernel2(
    k: Int, n: Int, packed: UnsafePointer<Float>, b: UnsafePointer<Float>, bRowStride: Int,
    c0: UnsafeMutablePointer<Float>, c1: UnsafeMutablePointer<Float>
  ) {
    typealias V = SIMD8<Float>
    let rb = UnsafeRawPointer(b)
    let size = MemoryLayout<Float>.stride
    let bStride = bRowStride &* size
    var j = 0
    while j &+ 8 <= n {
      let offset = j &* size
      var s0 = UnsafeRawPointer(c0).loadUnaligned(fromByteOffset: offset, as: V.self)
      var s1 = UnsafeRawPointer(c1).loadUnaligned(fromByteOffset: offset, as: V.self)
      var bOffset = offset
      var pa = packed
      for _ in 0..<k {
        let bv = rb.loadUnaligned(fromByteOffset: bOffset, as: V.self)
        s0 += V(repeating: pa[0]) * bv
        s1 += V(repeating: pa[1]) * bv
        bOffset &+= bStride
        pa += 4
      }
      UnsafeMutableRawPointer(c0).storeBytes(of: s0, toByteOffset: offset, as: V.self)
      UnsafeMutableRawPointer(c1).storeBytes(of: s1, toByteOffset: offset, as: V.self)
      j &+= 8
    }
    while j < n {
      var s0 = c0[j]
      var s1 = c1[j]
      var pa = packed
      var bIndex = j
      for _ in 0..<k {
        s0 += pa[0] * b[bIndex]
        s1 += pa[1] * b[bIndex]
        bIndex &+= bRowStride
        pa += 4
      }
      c0[j] = s0
      c1[j] = s1
      j &+= 1
    }
  }
}
