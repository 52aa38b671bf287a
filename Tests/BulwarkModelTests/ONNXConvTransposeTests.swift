import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// ConvTranspose, the decoders' upsampling: outputs worked out by hand and input gradients
/// against finite differences.
@Suite struct ONNXConvTransposeTests {
  /// One channel of 2x2, values 1...4, through a 1 -> 1 ConvTranspose with `kernel` (2x2).
  static func run(
    kernel: [Float], attributes: [(String, ONNXBuilder.Attribute)], bias: Float = 0,
    outputs: Int
  ) throws -> [Float] {
    var b = ONNXBuilder(opset: 13)
    b.input = (1, 2, 2)
    b.classes = outputs
    b.initializer("w", dims: [1, 1, 2, 2], floats: kernel)
    b.initializer("b", dims: [1], floats: [bias])
    b.node("ConvTranspose", ["input", "w", "b"], ["up"], attributes)
    b.node("Flatten", ["up"], ["output"], [("axis", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "up.onnx", folder: nil)
    return try model.logits(ImageBatch(shape: model.inputShape, pixels: [1, 2, 3, 4], labels: [0]))
  }

  @Test func upsamplesAsWorkedOutByHand() throws {
    // Stride 2 with the identity's diagonal: each value placed on its own 2x2 block's diagonal.
    #expect(
      try Self.run(kernel: [1, 0, 0, 1], attributes: [("strides", .ints([2, 2]))], outputs: 16)
        == [1, 0, 2, 0, 0, 1, 0, 2, 3, 0, 4, 0, 0, 3, 0, 4])
    // Stride 1 with ones: each output the sum of the inputs whose window covers it.
    #expect(
      try Self.run(kernel: [1, 1, 1, 1], attributes: [], bias: 0.5, outputs: 9)
        == [1, 3, 2, 4, 10, 6, 3, 7, 4].map { $0 + 0.5 })
    // Pads crop the border: the centre alone.
    #expect(
      try Self.run(kernel: [1, 1, 1, 1], attributes: [("pads", .ints([1, 1, 1, 1]))], outputs: 1)
        == [10])
    // Output padding adds a last row and column no window reaches: the bias alone.
    #expect(
      try Self.run(
        kernel: [1, 0, 0, 1],
        attributes: [("strides", .ints([2, 2])), ("output_padding", .ints([1, 1]))], bias: 1,
        outputs: 25)
        == [
          2, 1, 3, 1, 1, 1, 2, 1, 3, 1, 4, 1, 5, 1, 1, 1, 4, 1, 5, 1, 1, 1, 1, 1, 1,
        ])
    // output_shape 3x3 from a span of 4: one row and column to crop, at the start (where
    // ONNX puts an odd one unless auto_pad is SAME_UPPER): rows and columns 1...3.
    #expect(
      try Self.run(
        kernel: [1, 0, 0, 1],
        attributes: [("strides", .ints([2, 2])), ("output_shape", .ints([3, 3]))], outputs: 9)
        == [1, 0, 2, 0, 4, 0, 3, 0, 4])
  }

  @Test func inputGradientMatchesFiniteDifferences() throws {
    // 4 -> 6 channels in 2 groups, kernel 3, stride 2, uneven pads, output padding.
    var generator = SeededGenerator(seed: 51)
    func random(_ count: Int) -> [Float] { (0..<count).map { _ in generator.unitFloat() - 0.5 } }
    var b = ONNXBuilder(opset: 13)
    b.input = (4, 3, 3)
    b.classes = 5
    b.initializer("w", dims: [4, 3, 3, 3], floats: random(108))
    b.initializer("b", dims: [6], floats: random(6))
    b.node(
      "ConvTranspose", ["input", "w", "b"], ["up"],
      [
        ("group", .int(2)), ("strides", .ints([2, 2])), ("pads", .ints([1, 0, 1, 1])),
        ("output_padding", .ints([1, 0])),
      ])
    // H: 2 * 2 + 1 + 2 + 1 - 2 = 6; W: 2 * 2 + 0 + 2 + 1 - 1 = 6.
    b.initializer("fc", dims: [5, 6 * 6 * 6], floats: random(1_080))
    b.node("Flatten", ["up"], ["flat"], [("axis", .int(1))])
    b.node("Gemm", ["flat", "fc"], ["output"], [("transB", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "decoder.onnx", folder: nil)
    let batch = ImageBatch(
      shape: model.inputShape, pixels: Fixtures.randomPixels(72, seed: 52), labels: [0, 1])
    var checker = GradientTests.Checker()
    try checker.checkInputGradient(of: model, batch: batch, labels: [1, 4], samples: 30, seed: 53)
    #expect(checker.checked >= 25)
  }
}
