/// A fully connected layer over a chunk of flat vectors: `Y = X · Wᵀ + b` through ``GEMM``.
struct Dense {
  var inputs: Int
  var outputs: Int

  /// `transposedWeight` is `W` transposed, `inputs x outputs`, prepared once per pass.
  func forward(
    _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
    transposedWeight: UnsafePointer<Float>, bias: UnsafePointer<Float>
  ) {
    for row in 0..<count {
      (output + row &* outputs).update(from: bias, count: outputs)
    }
    GEMM.multiplyAdd(
      m: count, n: outputs, k: inputs, a: input, aRowStride: inputs, aColumnStride: 1,
      b: transposedWeight, bRowStride: outputs, c: output, cRowStride: outputs)
  }

  func backward(
    _ input: UnsafePointer<Float>, _ outputGradient: UnsafePointer<Float>, count: Int,
    weight: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>?,
    weightGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?
  ) {
    if let biasGradient {
      for row in 0..<count {
        let gradient = outputGradient + row &* outputs
        for column in 0..<outputs { biasGradient[column] += gradient[column] }
      }
    }
    if let weightGradient {
      GEMM.multiplyAdd(
        m: outputs, n: inputs, k: count, a: outputGradient, aRowStride: 1, aColumnStride: outputs,
        b: input, bRowStride: inputs, c: weightGradient, cRowStride: inputs)
    }
    if let inputGradient {
      inputGradient.update(repeating: 0, count: count &* inputs)
      GEMM.multiplyAdd(
        m: count, n: inputs, k: outputs, a: outputGradient, aRowStride: outputs, aColumnStride: 1,
        b: weight, bRowStride: inputs, c: inputGradient, cRowStride: inputs)
    }
  }
}
