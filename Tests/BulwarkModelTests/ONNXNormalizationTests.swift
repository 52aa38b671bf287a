import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// LayerNormalization, and the ReduceMean, Sub, Pow, Sqrt and Div that older exporters write for
/// it, as in a ConvNeXt block (channels last, layer norm, linear, GELU, channels first, residual).
@Suite struct ONNXNormalizationTests {
  static let scale: [Float] = [1, 0.5, -2, 1.5]
  static let bias: [Float] = [0, 0.25, 1, -0.5]

  /// `x + Transpose(Gelu(MatMul(LayerNorm(Transpose(x)), w)))` on 4 channels of 2x2, the layer
  /// norm as one operator (opset 17) or decomposed.
  static func block(decomposed: Bool) -> ONNXBuilder {
    var generator = SeededGenerator(seed: 12)
    var b = ONNXBuilder(opset: 17)
    b.input = (4, 2, 2)
    b.classes = 16
    b.initializer("scale", dims: [4], floats: scale)
    b.initializer("bias", dims: [4], floats: bias)
    b.initializer("w", dims: [4, 4], floats: (0..<16).map { _ in generator.unitFloat() - 0.5 })
    b.node("Transpose", ["input"], ["last"], [("perm", .ints([0, 2, 3, 1]))])
    if decomposed {
      b.initializer("axes", dims: [1], ints: [-1])
      b.initializer("two", dims: [], floats: [2])
      b.initializer("epsilon", dims: [], floats: [1e-5])
      b.node("ReduceMean", ["last"], ["mean"], [("axes", .ints([-1]))])
      b.node("Sub", ["last", "mean"], ["centred"])
      b.node("Pow", ["centred", "two"], ["squares"])
      b.node("ReduceMean", ["squares"], ["variance"], [("axes", .ints([-1]))])
      b.node("Add", ["variance", "epsilon"], ["shifted"])
      b.node("Sqrt", ["shifted"], ["deviation"])
      b.node("Div", ["centred", "deviation"], ["normalized"])
      b.node("Mul", ["normalized", "scale"], ["scaled"])
      b.node("Add", ["scaled", "bias"], ["norm"])
    } else {
      b.node("LayerNormalization", ["last", "scale", "bias"], ["norm"], [("axis", .int(-1))])
    }
    b.node("MatMul", ["norm", "w"], ["linear"])
    b.node("Gelu", ["linear"], ["activated"])
    b.node("Transpose", ["activated"], ["first"], [("perm", .ints([0, 3, 1, 2]))])
    b.node("Add", ["input", "first"], ["sum"])
    b.node("Flatten", ["sum"], ["output"], [("axis", .int(1))])
    return b
  }

  static func model(decomposed: Bool) throws -> ONNXModel {
    try ONNXModel(
      bytes: block(decomposed: decomposed).serialize().model, file: "block.onnx", folder: nil)
  }

  @Test func normalizesEachPositionOverItsChannels() throws {
    // LayerNormalization alone on channels last: each group of 4 by hand.
    var b = ONNXBuilder(opset: 17)
    b.input = (4, 1, 2)
    b.classes = 8
    b.initializer("scale", dims: [4], floats: Self.scale)
    b.initializer("bias", dims: [4], floats: Self.bias)
    b.node("Transpose", ["input"], ["last"], [("perm", .ints([0, 2, 3, 1]))])
    b.node("LayerNormalization", ["last", "scale", "bias"], ["norm"], [("axis", .int(-1))])
    b.node("Flatten", ["norm"], ["output"], [("axis", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "norm.onnx", folder: nil)
    // NHWC pixels: position 0 has channels 1, 2, 3, 4; position 1 has 0, 0, 0, 8.
    let pixels: [Float] = [1, 2, 3, 4, 0, 0, 0, 8]
    let logits = try model.logits(ImageBatch(shape: model.inputShape, pixels: pixels, labels: [0]))
    var expected: [Double] = []
    for group in [[1.0, 2, 3, 4], [0.0, 0, 0, 8]] {
      let mean = group.reduce(0, +) / 4
      let variance = group.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
      for (index, value) in group.enumerated() {
        expected.append(
          (value - mean) / (variance + 1e-5).squareRoot() * Double(Self.scale[index])
            + Double(Self.bias[index]))
      }
    }
    for (found, wanted) in zip(logits, expected) {
      #expect(abs(Double(found) - wanted) < 1e-5, "\(found) vs \(wanted)")
    }
  }

  @Test func theOperatorAndItsDecompositionAgree() throws {
    let batch = ImageBatch(
      shape: ImageShape(height: 2, width: 2, channels: 4),
      pixels: Fixtures.randomPixels(48, seed: 13), labels: [0, 5, 9])
    let native = try Self.model(decomposed: false)
    let decomposed = try Self.model(decomposed: true)
    #expect(
      ONNXModelTests.maximumDifference(try native.logits(batch), try decomposed.logits(batch))
        <= 1e-5)
    let labels = [3, 7, 11]
    #expect(
      ONNXModelTests.maximumDifference(
        try native.lossGradient(batch, labels: labels).input,
        try decomposed.lossGradient(batch, labels: labels).input) <= 1e-4)
  }

  @Test(arguments: [false, true])
  func inputGradientMatchesFiniteDifferences(decomposed: Bool) throws {
    let model = try Self.model(decomposed: decomposed)
    let batch = ImageBatch(
      shape: model.inputShape, pixels: Fixtures.randomPixels(32, seed: 14), labels: [0, 1])
    var checker = GradientTests.Checker()
    try checker.checkInputGradient(of: model, batch: batch, labels: [4, 12], samples: 24, seed: 15)
    #expect(checker.checked >= 20)
  }

  @Test func averagesOverChannelsAndRefusesTheBatchAxis() throws {
    func model(_ axes: [Int64], keepDims: Int64) throws -> ONNXModel {
      var b = ONNXBuilder(opset: 13)
      b.input = (2, 1, 3)
      b.classes = 3
      b.node("ReduceMean", ["input"], ["m"], [("axes", .ints(axes)), ("keepdims", .int(keepDims))])
      b.node("Flatten", ["m"], ["output"], [("axis", .int(1))])
      return try ONNXModel(bytes: b.serialize().model, file: "mean.onnx", folder: nil)
    }
    // NHWC: three positions of two channels; the mean of each position's two.
    let pixels: [Float] = [1, 3, 2, 6, -4, 4]
    let channels = try model([1], keepDims: 0)
    #expect(
      try channels.logits(ImageBatch(shape: channels.inputShape, pixels: pixels, labels: [0]))
        == [2, 4, 0])
    let error = try #require(throws: FormatError.self) { try model([0, 1], keepDims: 1) }
    #expect(error.expected == "a mean over axes within the images (not the batch axis 0)")
  }
}
