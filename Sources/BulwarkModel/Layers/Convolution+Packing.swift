internal import CBulwarkKernels

extension Convolution {
  /// A convolution's weights packed once for the AVX2 kernels: for a layer that
  /// ``runsDirectly``, in the direct kernel's order; otherwise, per channel group, as ``GEMM``'s
  /// left operand of the forward product; and, for passes that go backward, as the left operand
  /// of the input gradient's product (the weights transposed). Packing never changes a result;
  /// it saves repacking the weights for every chunk of a pass.
  struct PackedWeights: Sendable {
    /// All the weights in the direct kernel's order (`bulwark_conv_direct_pack`).
    var direct: [Float]?
    /// Each group's weights as the forward product's left operand.
    var forward: [GEMM.PackedOperand]?
    /// Each group's weights transposed, as the input gradient product's left operand.
    var backward: [GEMM.PackedOperand]?
  }

  /// `weight` (`outChannels x groupRows`) packed, the transposes too when `backward`; nil where
  /// the CPU runs the portable kernel. A layer that ``runsDirectly`` gets its weights in the
  /// direct kernel's order instead of forward operands, and one that ``backpropagatesDirectly``
  /// no transposes: those paths never read them (where non-finite weights send the input
  /// gradient through the product, it packs them itself).
  func pack(_ weight: UnsafePointer<Float>, backward: Bool) -> PackedWeights? {
    guard GEMM.usesAVX2 else { return nil }
    let groupWeights = (0..<groups).map { weight + $0 &* groupOutputs &* groupRows }
    return PackedWeights(
      direct: runsDirectly
        ? [Float](unsafeUninitializedCapacity: outChannels &* rows) { buffer, initialized in
          withUnsafePointer(to: geometry) {
            bulwark_conv_direct_pack($0, outChannels, weight, buffer.baseAddress.unsafelyUnwrapped)
          }
          initialized = buffer.count
        } : nil,
      forward: runsDirectly
        ? nil
        : groupWeights.compactMap {
          GEMM.PackedOperand(
            m: groupOutputs, k: groupRows, a: $0, aRowStride: groupRows, aColumnStride: 1)
        },
      backward: backward && !backpropagatesDirectly
        ? groupWeights.compactMap {
          GEMM.PackedOperand(
            m: groupRows, k: groupOutputs, a: $0, aRowStride: 1, aColumnStride: groupRows)
        } : nil)
  }
}
