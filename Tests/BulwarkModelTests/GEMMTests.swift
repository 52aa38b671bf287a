import BulwarkCore
import Testing

@testable import BulwarkModel

/// The matrix product under every convolution and linear layer: both kernels (the cache-blocked
/// AVX2 one where the CPU has it, and the portable one) against a double-precision product, on
/// shapes that cross every block edge, and the property the convolution relies on when it
/// multiplies several images at once: splitting the columns never changes a bit.
@Suite struct GEMMTests {
  struct Shape: CustomStringConvertible, Sendable {
    var m: Int
    var n: Int
    var k: Int
    var transposedA: Bool
    var description: String { "\(m)x\(k) · \(k)x\(n)\(transposedA ? ", A transposed" : "")" }
  }

  /// Edges of the 6 x 16 tiles (a block's last 7 and 8 rows split 4 + 3 and 4 + 4, last columns
  /// 8 wide and fewer), of the 256-deep, 120-row and 2,048-column blocks, and tiny sizes.
  static let shapes = [
    Shape(m: 1, n: 1, k: 1, transposedA: false),
    Shape(m: 7, n: 17, k: 3, transposedA: false),
    Shape(m: 13, n: 33, k: 300, transposedA: true),
    Shape(m: 125, n: 20, k: 5, transposedA: false),
    Shape(m: 6, n: 2_100, k: 2, transposedA: true),
    Shape(m: 12, n: 48, k: 513, transposedA: false),
    Shape(m: 14, n: 24, k: 40, transposedA: false),
    Shape(m: 128, n: 20, k: 17, transposedA: true),
  ]

  static func random(_ count: Int, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Float(generator.unitDouble() * 2 - 1) }
  }

  /// `C += A · B` through `kernel`, A stored row-major or (when transposed) column-major.
  static func product(
    _ shape: Shape, a: [Float], b: [Float], c: [Float],
    kernel: (
      Int, Int, Int, UnsafePointer<Float>, Int, Int, UnsafePointer<Float>, Int,
      UnsafeMutablePointer<Float>, Int
    ) -> Void
  ) -> [Float] {
    var c = c
    let (rowStride, columnStride) = shape.transposedA ? (1, shape.m) : (shape.k, 1)
    a.withUnsafeBufferPointer { a in
      b.withUnsafeBufferPointer { b in
        c.withUnsafeMutableBufferPointer { c in
          kernel(
            shape.m, shape.n, shape.k, a.baseAddress.unsafelyUnwrapped, rowStride, columnStride,
            b.baseAddress.unsafelyUnwrapped,
            shape.n, c.baseAddress.unsafelyUnwrapped, shape.n)
        }
      }
    }
    return c
  }

  /// `C += A · B` by ``GEMM/multiplyAdd(m:n:k:a:aRowStride:aColumnStride:packed:b:bRowStride:c:cRowStride:)``
  /// (the AVX2 kernel where the CPU has it), in the argument order of ``product(_:a:b:c:kernel:)``.
  static func dispatched(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int,
    b: UnsafePointer<Float>, bRowStride: Int, c: UnsafeMutablePointer<Float>, cRowStride: Int
  ) {
    GEMM.multiplyAdd(
      m: m, n: n, k: k, a: a, aRowStride: aRowStride, aColumnStride: aColumnStride, b: b,
      bRowStride: bRowStride, c: c, cRowStride: cRowStride)
  }

  @Test(arguments: shapes)
  func bothKernelsMatchADoublePrecisionProduct(_ shape: Shape) {
    let a = Self.random(shape.m * shape.k, seed: 1)
    let b = Self.random(shape.k * shape.n, seed: 2)
    let c = Self.random(shape.m * shape.n, seed: 3)
    let dispatched = Self.product(shape, a: a, b: b, c: c, kernel: Self.dispatched)
    let portable = Self.product(shape, a: a, b: b, c: c) {
      GEMM.portableMultiplyAdd(
        m: $0, n: $1, k: $2, a: $3, aRowStride: $4, aColumnStride: $5, b: $6, bRowStride: $7,
        c: $8, cRowStride: $9)
    }
    for i in 0..<shape.m {
      for j in 0..<shape.n {
        var exact = Double(c[i * shape.n + j])
        var magnitude = abs(exact)
        for p in 0..<shape.k {
          let term =
            Double(a[shape.transposedA ? p * shape.m + i : i * shape.k + p])
            * Double(b[p * shape.n + j])
          exact += term
          magnitude += abs(term)
        }
        // Float32 rounding of k + 1 additions, each within half an ulp of the running sum.
        let tolerance = magnitude * Double(shape.k + 1) * 6e-8
        #expect(abs(Double(dispatched[i * shape.n + j]) - exact) <= tolerance, "(\(i), \(j))")
        #expect(abs(Double(portable[i * shape.n + j]) - exact) <= tolerance, "(\(i), \(j))")
      }
    }
  }

  @Test(arguments: shapes)
  func splittingTheColumnsChangesNoBit(_ shape: Shape) {
    let a = Self.random(shape.m * shape.k, seed: 4)
    let b = Self.random(shape.k * shape.n, seed: 5)
    let c = Self.random(shape.m * shape.n, seed: 6)
    let whole = Self.product(shape, a: a, b: b, c: c, kernel: Self.dispatched)
    // The same product as one call per slice of columns, slices of 1, 5 and the rest.
    let split = Self.product(shape, a: a, b: b, c: c) { m, n, k, a, ars, acs, b, brs, c, crs in
      var column = 0
      for width in [1, 5, n] where column < n {
        let taken = min(width, n - column)
        GEMM.multiplyAdd(
          m: m, n: taken, k: k, a: a, aRowStride: ars, aColumnStride: acs, b: b + column,
          bRowStride: brs, c: c + column, cRowStride: crs)
        column += taken
      }
    }
    #expect(whole == split)
  }

  @Test(arguments: shapes)
  func aPackedOperandGivesTheSameBits(_ shape: Shape) throws {
    let a = Self.random(shape.m * shape.k, seed: 7)
    let b = Self.random(shape.k * shape.n, seed: 8)
    let c = Self.random(shape.m * shape.n, seed: 9)
    let plain = Self.product(shape, a: a, b: b, c: c, kernel: Self.dispatched)
    let packed = Self.product(shape, a: a, b: b, c: c) {
      let operand = GEMM.PackedOperand(m: $0, k: $2, a: $3, aRowStride: $4, aColumnStride: $5)
      #expect((operand != nil) == GEMM.usesAVX2)
      GEMM.multiplyAdd(
        m: $0, n: $1, k: $2, a: $3, aRowStride: $4, aColumnStride: $5, packed: operand, b: $6,
        bRowStride: $7, c: $8, cRowStride: $9)
    }
    #expect(plain == packed)
  }
}
