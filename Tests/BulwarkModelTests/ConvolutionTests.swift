import BulwarkCore
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
}
