/// The objective of total-variation minimisation on one channel of one image (Guo et al., 2018,
/// as ART's `TotalVarMin` writes it):
///
/// L(z) = sqrt(Σ m (z - x)²) + λ Σ_i ‖z[i+1, :] - z[i, :]‖_p + λ Σ_j ‖z[:, j+1] - z[:, j]‖_p
///
/// with p-norms of whole row and column differences. The gradient is the true one (ART's is
/// twice too large in the variation part for p = 2). Where a term is not differentiable (the
/// square root at 0, a norm of a zero difference, |d| at 0) its subgradient 0 is used, which
/// lies in the subdifferential in each case.
struct TotalVariationObjective: DifferentiableObjective {
  let height: Int
  let width: Int
  /// 1 or 2.
  let norm: Int
  let lambda: Float
  /// The original channel x, row-major.
  let original: UnsafePointer<Float>
  /// 1 where the pixel is kept in the data term, else 0.
  let mask: UnsafePointer<Float>
  /// Workspace of `width` values for the column norms.
  let columnNorms: UnsafeMutablePointer<Float>
  /// Workspace of `width` values for one row's gradient steps.
  let rowSteps: UnsafeMutablePointer<Float>

  var variableCount: Int { height * width }

  mutating func evaluate(
    at z: UnsafePointer<Float>, gradient: UnsafeMutablePointer<Float>
  ) -> Float {
    let count = height &* width
    // Data term.
    // One pass writes m (z - x) and sums m (z - x)², a second scales by 1 / sqrt of the sum.
    var sums = SIMD4<Float>()
    var index = 0
    while index &+ 4 <= count {
      let difference = VectorKernels.load4(z, index) - VectorKernels.load4(original, index)
      let weighted = VectorKernels.load4(mask, index) * difference
      UnsafeMutableRawPointer(gradient + index).storeBytes(of: weighted, as: SIMD4<Float>.self)
      sums += weighted * difference
      index &+= 4
    }
    var squares = sums.sum()
    while index < count {
      let difference = z[index] - original[index]
      gradient[index] = mask[index] * difference
      squares += gradient[index] * difference
      index &+= 1
    }
    let data = squares.squareRoot()
    let dataScale = data > 0 ? 1 / data : 0
    for index in 0..<count { gradient[index] *= dataScale }
    var variation: Float = 0
    if norm == 1 {
      for row in 0..<(height &- 1) {
        let upper = row &* width
        let lower = upper &+ width
        for column in 0..<width {
          let difference = z[lower &+ column] - z[upper &+ column]
          variation += abs(difference)
          let sign: Float = difference > 0 ? lambda : (difference < 0 ? -lambda : 0)
          gradient[lower &+ column] += sign
          gradient[upper &+ column] -= sign
        }
      }
      for row in 0..<height {
        let start = row &* width
        for column in 0..<(width &- 1) {
          let difference = z[start &+ column &+ 1] - z[start &+ column]
          variation += abs(difference)
          rowSteps[column] = difference > 0 ? lambda : (difference < 0 ? -lambda : 0)
        }
        addDifferences(of: rowSteps, to: gradient + start)
      }
    } else {
      // Differences between consecutive rows: one norm per row pair.
      for row in 0..<(height &- 1) {
        let upper = row &* width
        let lower = upper &+ width
        let rowNorm = VectorKernels.squaredDistance(
          z + lower, z + upper, count: width
        ).squareRoot()
        variation += rowNorm
        guard rowNorm > 0 else { continue }
        let scale = lambda / rowNorm
        for column in 0..<width {
          let step = (z[lower &+ column] - z[upper &+ column]) * scale
          gradient[lower &+ column] += step
          gradient[upper &+ column] -= step
        }
      }
      // Differences between consecutive columns: one norm per column pair.
      let pairs = width &- 1
      for column in 0..<pairs { columnNorms[column] = 0 }
      for row in 0..<height {
        let start = z + row &* width
        var column = 0
        while column &+ 4 <= pairs {
          let difference =
            VectorKernels.load4(start, column &+ 1) - VectorKernels.load4(start, column)
          let sum = VectorKernels.load4(columnNorms, column) + difference * difference
          UnsafeMutableRawPointer(columnNorms + column).storeBytes(of: sum, as: SIMD4<Float>.self)
          column &+= 4
        }
        while column < pairs {
          let difference = start[column &+ 1] - start[column]
          columnNorms[column] += difference * difference
          column &+= 1
        }
      }
      for column in 0..<pairs {
        let columnNorm = columnNorms[column].squareRoot()
        variation += columnNorm
        columnNorms[column] = columnNorm > 0 ? lambda / columnNorm : 0
      }
      for row in 0..<height {
        let start = row &* width
        for column in 0..<pairs {
          rowSteps[column] = (z[start &+ column &+ 1] - z[start &+ column]) * columnNorms[column]
        }
        addDifferences(of: rowSteps, to: gradient + start)
      }
    }
    return data + lambda * variation
  }

  /// row[c + 1] += steps[c] and row[c] -= steps[c] for c in 0..<width - 1, as two loops the
  /// compiler vectorises (one fused loop would carry a dependency through memory).
  @inline(__always)
  private func addDifferences(
    of steps: UnsafeMutablePointer<Float>, to row: UnsafeMutablePointer<Float>
  ) {
    let pairs = width &- 1
    for column in 0..<pairs { row[column &+ 1] += steps[column] }
    for column in 0..<pairs { row[column] -= steps[column] }
  }
}
