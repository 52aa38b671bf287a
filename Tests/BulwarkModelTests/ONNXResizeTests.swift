import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// Resize and Upsample as PyTorch exports `F.interpolate`: nearest (asymmetric, floor), bilinear
/// (pytorch_half_pixel, or align_corners), values worked out by hand and gradients against
/// finite differences.
@Suite struct ONNXResizeTests {
  /// One channel of 1 x `width` values through a Resize to `outWidth`, by scales or sizes.
  static func resize(
    _ pixels: [Float], outWidth: Int, attributes: [(String, ONNXBuilder.Attribute)],
    bySizes: Bool = false, opset: Int = 13
  ) throws -> [Float] {
    var b = ONNXBuilder(opset: opset)
    b.input = (1, 1, pixels.count)
    b.classes = outWidth
    b.initializer("roi", dims: [0], floats: [])
    if bySizes {
      b.initializer("scales", dims: [0], floats: [])
      b.initializer("sizes", dims: [4], ints: [1, 1, 1, Int64(outWidth)])
      b.node("Resize", ["input", "roi", "scales", "sizes"], ["r"], attributes)
    } else {
      b.initializer(
        "scales", dims: [4], floats: [1, 1, 1, Float(outWidth) / Float(pixels.count)])
      b.node("Resize", ["input", "roi", "scales"], ["r"], attributes)
    }
    b.node("Flatten", ["r"], ["output"], [("axis", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "resize.onnx", folder: nil)
    return try model.logits(ImageBatch(shape: model.inputShape, pixels: pixels, labels: [0]))
  }

  @Test func resizesAsWorkedOutByHand() throws {
    // F.interpolate(scale_factor=2, mode="nearest"): each value twice.
    #expect(
      try Self.resize(
        [1, 2, 3], outWidth: 6,
        attributes: [
          ("mode", .string("nearest")), ("coordinate_transformation_mode", .string("asymmetric")),
          ("nearest_mode", .string("floor")),
        ]) == [1, 1, 2, 2, 3, 3])
    // Bilinear, half pixel: 0 and 1 to 4 values: -0.25 (clamped to 0), 0.25, 0.75, 1.25 (to 1).
    #expect(
      try Self.resize(
        [0, 1], outWidth: 4,
        attributes: [
          ("mode", .string("linear")),
          ("coordinate_transformation_mode", .string("pytorch_half_pixel")),
        ]) == [0, 0.25, 0.75, 1])
    // Bilinear with aligned corners, by sizes: the ends kept, the middle halfway.
    #expect(
      try Self.resize(
        [0, 4], outWidth: 3,
        attributes: [
          ("mode", .string("linear")), ("coordinate_transformation_mode", .string("align_corners")),
        ], bySizes: true) == [0, 2, 4])
    // Nearest from 4 to 3 by sizes, half pixel, round_prefer_floor: (o + 0.5) 4/3 - 0.5 =
    // 0.17, 1.5, 2.83: 0, 1 (a tie, to the floor), 3.
    #expect(
      try Self.resize([10, 11, 12, 13], outWidth: 3, attributes: [], bySizes: true)
        == [10, 11, 13])
  }

  @Test func upsamplesWithTheOldOperator() throws {
    var b = ONNXBuilder(opset: 9)
    b.input = (1, 1, 2)
    b.classes = 4
    b.initializer("scales", dims: [4], floats: [1, 1, 1, 2])
    b.node("Upsample", ["input", "scales"], ["u"], [("mode", .string("nearest"))])
    b.node("Flatten", ["u"], ["output"], [("axis", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "upsample.onnx", folder: nil)
    #expect(
      try model.logits(ImageBatch(shape: model.inputShape, pixels: [5, 7], labels: [0]))
        == [5, 5, 7, 7])
  }

  @Test(arguments: ["nearest", "linear"])
  func inputGradientMatchesFiniteDifferences(mode: String) throws {
    var generator = SeededGenerator(seed: 61)
    var b = ONNXBuilder(opset: 13)
    b.input = (2, 3, 3)
    b.classes = 4
    b.initializer("roi", dims: [0], floats: [])
    b.initializer("scales", dims: [4], floats: [1, 1, 2, 1.5])
    b.initializer(
      "fc", dims: [4, 2 * 6 * 4], floats: (0..<192).map { _ in generator.unitFloat() - 0.5 })
    b.node(
      "Resize", ["input", "roi", "scales"], ["r"],
      [
        ("mode", .string(mode)), ("coordinate_transformation_mode", .string("pytorch_half_pixel")),
      ])
    b.node("Flatten", ["r"], ["flat"], [("axis", .int(1))])
    b.node("Gemm", ["flat", "fc"], ["output"], [("transB", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "up.onnx", folder: nil)
    let batch = ImageBatch(
      shape: model.inputShape, pixels: Fixtures.randomPixels(36, seed: 62), labels: [0, 1])
    var checker = GradientTests.Checker()
    try checker.checkInputGradient(of: model, batch: batch, labels: [1, 3], samples: 24, seed: 63)
    #expect(checker.checked >= 20)
  }

  @Test func refusesAResizeOfTheChannels() throws {
    var b = ONNXBuilder(opset: 13)
    b.input = (2, 2, 2)
    b.classes = 16
    b.initializer("roi", dims: [0], floats: [])
    b.initializer("scales", dims: [4], floats: [1, 2, 1, 1])
    b.node("Resize", ["input", "roi", "scales"], ["r"])
    b.node("Flatten", ["r"], ["output"], [("axis", .int(1))])
    let error = try #require(throws: FormatError.self) {
      try ONNXModel(bytes: b.serialize().model, file: "channels.onnx", folder: nil)
    }
    #expect(error.expected == "a resize of height and width only (batch and channels kept)")
  }

  /// A fuzzing finding: 2 x 2 planes resized by 2,048 both ways and linear would build a map of
  /// 67 million taps, seconds of work at load time; nearest at 1,024 both ways is within bounds.
  @Test(arguments: [("linear", Float(2_048), false), ("nearest", Float(1_024), true)])
  func boundsTheResizeMap(mode: String, scale: Float, loads: Bool) throws {
    var b = ONNXBuilder(opset: 13)
    b.input = (1, 2, 2)
    b.classes = 2
    b.initializer("roi", dims: [0], floats: [])
    b.initializer("scales", dims: [4], floats: [1, 1, scale, scale])
    b.node("Resize", ["input", "roi", "scales"], ["r"], [("mode", .string(mode))])
    b.node("ReduceMean", ["r"], ["m"], [("axes", .ints([2, 3])), ("keepdims", .int(0))])
    b.node("Concat", ["m", "m"], ["output"], [("axis", .int(1))])
    let bytes = b.serialize().model
    if loads {
      _ = try ONNXModel(bytes: bytes, file: "big.onnx", folder: nil)
    } else {
      let error = try #require(throws: FormatError.self) {
        try ONNXModel(bytes: bytes, file: "big.onnx", folder: nil)
      }
      #expect(error.expected.hasPrefix("at most 4194304 taps in the output plane's map"))
    }
  }
}
