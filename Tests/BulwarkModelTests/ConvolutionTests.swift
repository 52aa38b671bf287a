import BulwarkCore
import CBulwarkKernels
import Testing

@testable import BulwarkModel

/// A convolution with few output positions multiplies several images at once (their outputs
/// pass through product order); the results must be those of one image at a time, bit for bit.
@Suite struct ConvolutionTests {
  /// 3 -> 4 channels on 5 x 4 images, kernel 3, stride 2, padding 1, two channel groups: 3 x 2
  /// output positions, so a product takes up to 42 images.
  static let convolution = Convolution(
    inChannels: 4, inHeight: 5, inWidth: 4, outChannels: 6, outHeight: 3, outWidth: 2,
    kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2, padTop: 1, padLeft: 1,
    dilationY: 1, dilationX: 1, groups: 2)

  static func random(_ count: Int, seed: UInt64) -> [Float] {
    var generator = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Float(generator.unitDouble() * 2 - 1) }
  }

  /// Outputs, input gradients, weight gradients and bias gradients of `images` images, in calls
  /// of `perCall` images, with the weights packed once or not.
  static func run(images: Int, perCall: Int, packs: Bool = false) -> [[Float]] {
    let conv = convolution
    let input = random(images * conv.inputCount, seed: 1)
    let upstream = random(images * conv.outputCount, seed: 2)
    let weight = random(conv.outChannels * conv.groupRows + conv.outChannels, seed: 3)
    var output = [Float](repeating: 0, count: images * conv.outputCount)
    var inputGradient = [Float](repeating: 0, count: images * conv.inputCount)
    var parameterGradient = [Float](repeating: 0, count: weight.count)
    var scratch = [Float](repeating: 0, count: conv.scratchCount)
    for first in stride(from: 0, to: images, by: perCall) {
      let count = min(perCall, images - first)
      input.withUnsafeBufferPointer { input in
        upstream.withUnsafeBufferPointer { upstream in
          weight.withUnsafeBufferPointer { weight in
            let w = weight.baseAddress.unsafelyUnwrapped
            let packed = packs ? conv.pack(w, backward: true) : nil
            let x = input.baseAddress.unsafelyUnwrapped + first * conv.inputCount
            scratch.withUnsafeMutableBufferPointer { scratch in
              output.withUnsafeMutableBufferPointer {
                conv.forward(
                  input: x, output: $0.baseAddress.unsafelyUnwrapped + first * conv.outputCount,
                  count: count,
                  weight: w, bias: w + conv.outChannels * conv.groupRows, packed: packed,
                  scratch: scratch.baseAddress.unsafelyUnwrapped)
              }
              inputGradient.withUnsafeMutableBufferPointer { inputGradient in
                parameterGradient.withUnsafeMutableBufferPointer { parameters in
                  let p = parameters.baseAddress.unsafelyUnwrapped
                  conv.backward(
                    input: x,
                    outputGradient: upstream.baseAddress.unsafelyUnwrapped + first
                      * conv.outputCount,
                    count: count, weight: w, packed: packed,
                    inputGradient: inputGradient.baseAddress.unsafelyUnwrapped + first
                      * conv.inputCount,
                    weightGradient: p, biasGradient: p + conv.outChannels * conv.groupRows,
                    scratch: scratch.baseAddress.unsafelyUnwrapped)
                }
              }
            }
          }
        }
      }
    }
    return [output, inputGradient, parameterGradient]
  }

  @Test func imagesSharingAProductGiveTheResultsOfOneAtATime() {
    #expect(Self.convolution.imagesPerProduct(count: 16) == 16)
    let shared = Self.run(images: 16, perCall: 16)
    #expect(shared == Self.run(images: 16, perCall: 1))
    #expect(shared == Self.run(images: 16, perCall: 5))
    #expect(shared == Self.run(images: 16, perCall: 16, packs: true))
    #expect(shared[0].contains { $0 != 0 } && shared[2].contains { $0 != 0 })
  }

  /// Layers the direct forward pass takes: LeNet-5's first, odd sizes, paddings, dilations,
  /// vertical strides and channel counts that leave partial blocks of channels (every size from 1
  /// to 5, and a last 7 and 8 split 4 + 3 and 4 + 4) and of columns, rows of 8 columns or fewer
  /// (two at a time, an odd one last), layers with more outputs than
  /// ``Convolution/directOutputChannels`` but wide rows or rows of 8, and wide rows of
  /// horizontal strides 2 (ResNet's stem) and 3, dilated.
  static let directLayers = [
    Convolution(
      inChannels: 1, inHeight: 28, inWidth: 28, outChannels: 6, outHeight: 28, outWidth: 28,
      kernelHeight: 5, kernelWidth: 5, strideY: 1, strideX: 1, padTop: 2, padLeft: 2,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 3, inHeight: 9, inWidth: 11, outChannels: 11, outHeight: 4, outWidth: 13,
      kernelHeight: 3, kernelWidth: 2, strideY: 2, strideX: 1, padTop: 1, padLeft: 2,
      dilationY: 2, dilationX: 2, groups: 1),
    Convolution(
      inChannels: 2, inHeight: 6, inWidth: 20, outChannels: 1, outHeight: 4, outWidth: 17,
      kernelHeight: 3, kernelWidth: 4, strideY: 1, strideX: 1, padTop: 0, padLeft: 0,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 4, inHeight: 5, inWidth: 3, outChannels: 16, outHeight: 5, outWidth: 3,
      kernelHeight: 1, kernelWidth: 1, strideY: 1, strideX: 1, padTop: 0, padLeft: 0,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 5, inHeight: 7, inWidth: 21, outChannels: 37, outHeight: 7, outWidth: 21,
      kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 1, padTop: 1, padLeft: 1,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 3, inHeight: 10, inWidth: 10, outChannels: 14, outHeight: 10, outWidth: 10,
      kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 1, padTop: 1, padLeft: 1,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 2, inHeight: 6, inWidth: 9, outChannels: 2, outHeight: 6, outWidth: 9,
      kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 1, padTop: 1, padLeft: 1,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 6, inHeight: 7, inWidth: 8, outChannels: 20, outHeight: 7, outWidth: 8,
      kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 1, padTop: 1, padLeft: 1,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 3, inHeight: 40, inWidth: 41, outChannels: 25, outHeight: 20, outWidth: 19,
      kernelHeight: 7, kernelWidth: 5, strideY: 2, strideX: 2, padTop: 3, padLeft: 2,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 2, inHeight: 9, inWidth: 60, outChannels: 5, outHeight: 7, outWidth: 17,
      kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 3, padTop: 0, padLeft: 1,
      dilationY: 1, dilationX: 2, groups: 1),
  ]

  @Test(arguments: directLayers.indices)
  func theDirectForwardPassGivesTheProductsBits(_ layer: Int) {
    let conv = Self.directLayers[layer]
    #expect(conv.runsDirectly == GEMM.usesAVX2)
    let images = 3
    let input = Self.random(images * conv.inputCount, seed: 4)
    let weight = Self.random(conv.outChannels * conv.rows + conv.outChannels, seed: 5)
    let direct = Self.forward(conv, input: input, weight: weight, images: images)
    // The weights packed once for the pass, as the engines pack them, give the same bits.
    let packed = weight.withUnsafeBufferPointer {
      conv.pack($0.baseAddress.unsafelyUnwrapped, backward: false)
    }
    #expect((packed?.direct?.count ?? 0) == (GEMM.usesAVX2 ? conv.outChannels * conv.rows : 0))
    #expect(Self.forward(conv, input: input, weight: weight, images: images, packs: true) == direct)
    var product = [Float](repeating: .nan, count: images * conv.outputCount)
    var scratch = [Float](repeating: 0, count: conv.scratchCount)
    input.withUnsafeBufferPointer { input in
      weight.withUnsafeBufferPointer { weight in
        let w = weight.baseAddress.unsafelyUnwrapped
        scratch.withUnsafeMutableBufferPointer { scratch in
          product.withUnsafeMutableBufferPointer {
            conv.productForward(
              input: input.baseAddress.unsafelyUnwrapped, output: $0.baseAddress.unsafelyUnwrapped,
              count: images, weight: w, bias: w + conv.outChannels * conv.rows, packed: nil,
              scratch: scratch.baseAddress.unsafelyUnwrapped)
          }
        }
      }
    }
    #expect(direct == product)
    #expect(!direct.contains { $0.isNaN })
  }

  /// The forward pass of `images` images through `conv` (pooled, with a pooling), its bias
  /// after its weights in `weight`, with the weights packed once when `packs`.
  static func forward(
    _ conv: Convolution, input: [Float], weight: [Float], images: Int, packs: Bool = false
  ) -> [Float] {
    let outputCount =
      conv.pooling.map { conv.outChannels * $0.outHeight * $0.outWidth } ?? conv.outputCount
    var output = [Float](repeating: .nan, count: images * outputCount)
    var scratch = [Float](repeating: 0, count: conv.scratchCount)
    input.withUnsafeBufferPointer { input in
      weight.withUnsafeBufferPointer { weight in
        let w = weight.baseAddress.unsafelyUnwrapped
        scratch.withUnsafeMutableBufferPointer { scratch in
          output.withUnsafeMutableBufferPointer {
            conv.forward(
              input: input.baseAddress.unsafelyUnwrapped, output: $0.baseAddress.unsafelyUnwrapped,
              count: images, weight: w, bias: w + conv.outChannels * conv.rows,
              packed: packs ? conv.pack(w, backward: false) : nil,
              scratch: scratch.baseAddress.unsafelyUnwrapped)
          }
        }
      }
    }
    return output
  }

  /// A direct layer with a 2x2, stride 2 max pooling folded in stores the bits of its outputs
  /// max-pooled by ``Pooling/maxForward(_:_:portable:)``, rectified or not, with NaN among the
  /// unrectified outputs (one input pixel of each image is NaN), odd rows and columns dropped.
  @Test(arguments: directLayers.indices, [false, true])
  func theDirectForwardPassPoolsAsTheMaxPoolDoes(_ layer: Int, rectifies: Bool) {
    var conv = Self.directLayers[layer]
    conv.rectifies = rectifies
    let pool = Pooling(
      planes: conv.outChannels, inHeight: conv.outHeight, inWidth: conv.outWidth,
      outHeight: conv.outHeight / 2, outWidth: conv.outWidth / 2, kernelHeight: 2,
      kernelWidth: 2, strideY: 2, strideX: 2, pads: [0, 0, 0, 0], dilationY: 1, dilationX: 1,
      countIncludePad: false)
    #expect(conv.folds(pool) == GEMM.usesAVX2)
    let images = 3
    var input = Self.random(images * conv.inputCount, seed: 6)
    for image in 0..<images { input[image * conv.inputCount + 7 * image + 3] = .nan }
    let weight = Self.random(conv.outChannels * conv.rows + conv.outChannels, seed: 7)
    let outputs = Self.forward(conv, input: input, weight: weight, images: images)
    var separate = [Float](
      repeating: 0, count: images * conv.outChannels * pool.outHeight * pool.outWidth)
    var all = pool
    all.planes *= images
    outputs.withUnsafeBufferPointer { outputs in
      separate.withUnsafeMutableBufferPointer {
        all.maxForward(outputs.baseAddress.unsafelyUnwrapped, $0.baseAddress.unsafelyUnwrapped)
      }
    }
    var pooled = conv
    pooled.pooling = pool
    let folded = Self.forward(pooled, input: input, weight: weight, images: images)
    #expect(folded.map(\.bitPattern) == separate.map(\.bitPattern))
    #expect(rectifies != outputs.contains { $0.isNaN })
  }

  /// Layers whose input gradient the direct path takes: LeNet-5's two, a dilated one with
  /// uneven paddings and a larger trailing padding, one without padding, and a 1 x 1 one.
  static let backpropagatedLayers = [
    directLayers[0],
    Convolution(
      inChannels: 6, inHeight: 14, inWidth: 14, outChannels: 16, outHeight: 10, outWidth: 10,
      kernelHeight: 5, kernelWidth: 5, strideY: 1, strideX: 1, padTop: 0, padLeft: 0,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 3, inHeight: 9, inWidth: 11, outChannels: 7, outHeight: 9, outWidth: 12,
      kernelHeight: 3, kernelWidth: 2, strideY: 1, strideX: 1, padTop: 1, padLeft: 2,
      dilationY: 2, dilationX: 2, groups: 1),
    directLayers[2],
    directLayers[3],
  ]

  /// The input gradients of `images` images by the backward pass and by the product path.
  static func inputGradients(_ conv: Convolution, weight: [Float], images: Int) -> [[Float]] {
    let upstream = random(images * conv.outputCount, seed: 6)
    let input = random(images * conv.inputCount, seed: 7)
    var scratch = [Float](repeating: 0, count: conv.scratchCount)
    return [false, true].map { throughProduct in
      var gradient = [Float](repeating: .nan, count: images * conv.inputCount)
      input.withUnsafeBufferPointer { input in
        upstream.withUnsafeBufferPointer { upstream in
          weight.withUnsafeBufferPointer { weight in
            scratch.withUnsafeMutableBufferPointer { scratch in
              gradient.withUnsafeMutableBufferPointer { gradient in
                let (x, g) = (
                  input.baseAddress.unsafelyUnwrapped, upstream.baseAddress.unsafelyUnwrapped
                )
                let (w, s) = (
                  weight.baseAddress.unsafelyUnwrapped, scratch.baseAddress.unsafelyUnwrapped
                )
                if throughProduct {
                  conv.productBackward(
                    input: x, outputGradient: g, count: images, weight: w, packed: nil,
                    inputGradient: gradient.baseAddress, weightGradient: nil, scratch: s)
                } else {
                  conv.backward(
                    input: x, outputGradient: g, count: images, weight: w,
                    inputGradient: gradient.baseAddress, weightGradient: nil, biasGradient: nil,
                    scratch: s)
                }
              }
            }
          }
        }
      }
      return gradient
    }
  }

  @Test(arguments: backpropagatedLayers.indices)
  func theDirectInputGradientGivesTheProductsBits(_ layer: Int) {
    let conv = Self.backpropagatedLayers[layer]
    #expect(conv.backpropagatesDirectly == GEMM.usesAVX2)
    let weight = Self.random(conv.outChannels * conv.rows, seed: 8)
    let gradients = Self.inputGradients(conv, weight: weight, images: 3)
    #expect(zip(gradients[0], gradients[1]).allSatisfy { $0.bitPattern == $1.bitPattern })
    #expect(!gradients[0].contains { $0.isNaN } && gradients[0].contains { $0 != 0 })
  }

  /// An infinite weight times the padding's zeros would be NaN in the direct path; such weights
  /// take the product path, whose col2im never adds those products.
  @Test func anInfiniteWeightTakesTheProductPath() {
    let conv = Self.backpropagatedLayers[0]
    var weight = Self.random(conv.outChannels * conv.rows, seed: 8)
    weight[3] = .infinity
    let gradients = Self.inputGradients(conv, weight: weight, images: 1)
    #expect(zip(gradients[0], gradients[1]).allSatisfy { $0.bitPattern == $1.bitPattern })
    #expect(gradients[0].contains { $0.isFinite } && gradients[0].contains { !$0.isFinite })
  }

  /// Geometries for the column kernels: the suite's stride 2 with padding, wide rows of stride 2,
  /// a 2x2 map, a dilated stride 3 with uneven padding, and a 1x1 stride 2.
  static let columnLayers = [
    convolution,
    // Rows of 19 outputs: two whole vector steps of stride 2 and a masked one.
    Convolution(
      inChannels: 2, inHeight: 8, inWidth: 40, outChannels: 3, outHeight: 4, outWidth: 19,
      kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2, padTop: 1, padLeft: 1,
      dilationY: 1, dilationX: 1, groups: 1),
    // ResNet's late 2x2 maps, stride 1.
    Convolution(
      inChannels: 3, inHeight: 2, inWidth: 2, outChannels: 3, outHeight: 2, outWidth: 2,
      kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 1, padTop: 1, padLeft: 1,
      dilationY: 1, dilationX: 1, groups: 1),
    Convolution(
      inChannels: 2, inHeight: 9, inWidth: 11, outChannels: 3, outHeight: 3, outWidth: 4,
      kernelHeight: 2, kernelWidth: 3, strideY: 3, strideX: 3, padTop: 1, padLeft: 2,
      dilationY: 2, dilationX: 2, groups: 1),
    Convolution(
      inChannels: 3, inHeight: 7, inWidth: 6, outChannels: 4, outHeight: 4, outWidth: 3,
      kernelHeight: 1, kernelWidth: 1, strideY: 2, strideX: 2, padTop: 0, padLeft: 0,
      dilationY: 1, dilationX: 1, groups: 1),
  ]

  /// im2col writes each window's cell (zero outside the image) where the product reads it,
  /// leaving the gap after a product's columns alone; col2im adds every column value back into
  /// the cell it came from, in the order channel, ky, kx, oy, ox (random values, so another
  /// order would change the bits).
  @Test(arguments: columnLayers.indices)
  func theColumnKernelsFollowTheDefinition(_ layer: Int) {
    let conv = Self.columnLayers[layer]
    let images = 3
    let columns = images * conv.positions
    let stride = columns + 5
    let input = Self.random(images * conv.inputCount, seed: 11)
    let values = Self.random(conv.rows * stride, seed: 12)
    var expectedColumns = [Float](repeating: .nan, count: conv.rows * stride)
    var expectedImages = [Float](repeating: 0, count: input.count)
    for n in 0..<images {
      for c in 0..<conv.inChannels {
        for ky in 0..<conv.kernelHeight {
          for kx in 0..<conv.kernelWidth {
            let row = (c * conv.kernelHeight + ky) * conv.kernelWidth + kx
            for oy in 0..<conv.outHeight {
              for ox in 0..<conv.outWidth {
                let iy = oy * conv.strideY - conv.padTop + ky * conv.dilationY
                let ix = ox * conv.strideX - conv.padLeft + kx * conv.dilationX
                let column = row * stride + n * conv.positions + oy * conv.outWidth + ox
                let inside = (0..<conv.inHeight).contains(iy) && (0..<conv.inWidth).contains(ix)
                let cell = n * conv.inputCount + (c * conv.inHeight + iy) * conv.inWidth + ix
                expectedColumns[column] = inside ? input[cell] : 0
                if inside { expectedImages[cell] += values[column] }
              }
            }
          }
        }
      }
    }
    var written = [[Float]](repeating: .init(repeating: .nan, count: conv.rows * stride), count: 2)
    var scattered = [Float](repeating: .nan, count: input.count)
    withUnsafePointer(to: conv.geometry) { geometry in
      for portable in 0..<2 {
        bulwark_im2col(geometry, images, input, &written[portable], stride, Int32(portable))
      }
      bulwark_col2im(geometry, images, values, stride, &scattered)
    }
    for columns in written {
      #expect(columns.map(\.bitPattern) == expectedColumns.map(\.bitPattern))
    }
    #expect(scattered.map(\.bitPattern) == expectedImages.map(\.bitPattern))
  }

  /// Geometries for the straight product, all narrower than ``Convolution/straightOutputWidth``:
  /// ResNet's 2x2 and 4x4 maps, a dilated stride 3, a 1x1 stride 2, 3x3 maps whose images share
  /// slivers, rows of 7, 360 kernel rows (two blocks of the product's depth) with 7 outputs, and
  /// 2,100 one-position images (two panels of columns).
  static let straightLayers: [(conv: Convolution, images: Int)] = [
    (columnLayers[2], 5),
    (
      Convolution(
        inChannels: 5, inHeight: 4, inWidth: 4, outChannels: 8, outHeight: 4, outWidth: 4,
        kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 1, padTop: 1, padLeft: 1,
        dilationY: 1, dilationX: 1, groups: 1), 3
    ),
    (columnLayers[3], 3),
    (columnLayers[4], 4),
    (
      Convolution(
        inChannels: 3, inHeight: 5, inWidth: 5, outChannels: 5, outHeight: 3, outWidth: 3,
        kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2, padTop: 1, padLeft: 1,
        dilationY: 1, dilationX: 1, groups: 1), 5
    ),
    (
      Convolution(
        inChannels: 2, inHeight: 7, inWidth: 7, outChannels: 3, outHeight: 7, outWidth: 7,
        kernelHeight: 5, kernelWidth: 5, strideY: 1, strideX: 1, padTop: 2, padLeft: 2,
        dilationY: 1, dilationX: 1, groups: 1), 2
    ),
    (
      Convolution(
        inChannels: 40, inHeight: 4, inWidth: 4, outChannels: 7, outHeight: 2, outWidth: 2,
        kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2, padTop: 1, padLeft: 1,
        dilationY: 1, dilationX: 1, groups: 1), 3
    ),
    (
      Convolution(
        inChannels: 2, inHeight: 3, inWidth: 3, outChannels: 2, outHeight: 1, outWidth: 1,
        kernelHeight: 3, kernelWidth: 3, strideY: 1, strideX: 1, padTop: 0, padLeft: 0,
        dilationY: 1, dilationX: 1, groups: 1), 2_100
    ),
  ]

  /// The product that gathers its im2col blocks straight from the images runs where the CPU has
  /// AVX2, and adds to each output exactly what im2col then the packed product adds.
  @Test(arguments: straightLayers.indices)
  func theStraightProductGivesIm2colsBits(_ layer: Int) {
    let (conv, images) = Self.straightLayers[layer]
    let columns = images * conv.positions
    let input = Self.random(images * conv.inputCount, seed: 13)
    let weight = Self.random(conv.outChannels * conv.rows, seed: 14)
    let start = Self.random(conv.outChannels * columns, seed: 15)
    var straight = start
    var product = start
    var scratch = [Float](repeating: .nan, count: conv.rows * columns)
    weight.withUnsafeBufferPointer { weight in
      let w = weight.baseAddress.unsafelyUnwrapped
      // Packed here: a layer that runs directly gets no forward operand from `pack`.
      let packed = GEMM.PackedOperand(
        m: conv.outChannels, k: conv.rows, a: w, aRowStride: conv.rows, aColumnStride: 1
      ).map { Convolution.PackedWeights(forward: [$0], backward: nil) }
      let ran = straight.withUnsafeMutableBufferPointer {
        conv.multiplyAddStraight(
          images: images, from: input, packed: packed, into: $0.baseAddress.unsafelyUnwrapped)
      }
      #expect(ran == GEMM.usesAVX2)
      withUnsafePointer(to: conv.geometry) {
        bulwark_im2col($0, images, input, &scratch, columns, 0)
      }
      scratch.withUnsafeBufferPointer { b in
        product.withUnsafeMutableBufferPointer {
          GEMM.multiplyAdd(
            m: conv.outChannels, n: columns, k: conv.rows, a: w, aRowStride: conv.rows,
            aColumnStride: 1, packed: packed?.forward?.first, b: b.baseAddress.unsafelyUnwrapped,
            bRowStride: columns, c: $0.baseAddress.unsafelyUnwrapped, cRowStride: columns)
        }
      }
    }
    let same = straight.map(\.bitPattern) == product.map(\.bitPattern)
    // Without AVX2 it writes nothing, and the caller takes im2col and the portable product.
    #expect(GEMM.usesAVX2 ? same && straight != start : straight == start)
  }
}
