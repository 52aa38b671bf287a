import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// Concat, Split, Slice, Gather, Transpose and Pad on image values, as DenseNet, GoogLeNet,
/// SqueezeNet (Concat), GoogLeNet's input transform (Gather), ShuffleNet (the channel shuffle:
/// Reshape, Transpose, Reshape; Split), dynamo's `as_strided` (Reshape to one axis, Gather) and
/// padded convolutions export them: values moved as worked out by hand, gradients against
/// finite differences, and the batch axis refused.
@Suite struct ONNXLayoutTests {
  /// The NCHW values of one NHWC image of `shape`.
  static func nchw(_ pixels: [Float], _ shape: ImageShape) -> [Float] {
    var result = [Float](repeating: 0, count: pixels.count)
    for channel in 0..<shape.channels {
      for position in 0..<(shape.height * shape.width) {
        result[channel * shape.height * shape.width + position] =
          pixels[position * shape.channels + channel]
      }
    }
    return result
  }

  /// Runs a graph ending in `output` (flattened per image) on one image; returns the logits.
  static func run(
    _ build: (inout ONNXBuilder) -> Void, input: (Int, Int, Int), classes: Int, opset: Int = 13,
    pixels: [Float]
  ) throws -> [Float] {
    var b = ONNXBuilder(opset: opset)
    b.input = input
    b.classes = classes
    build(&b)
    let model = try ONNXModel(bytes: b.serialize().model, file: "layout.onnx", folder: nil)
    return try model.logits(ImageBatch(shape: model.inputShape, pixels: pixels, labels: [0]))
  }

  static let sixteen = (0..<16).map { Float($0) }

  @Test func shufflesChannelsAsShuffleNetDoes() throws {
    // 4 channels in 2 groups: [N, 2, 2, H, W] transposed to [N, 2, 2, H, W] swaps the group
    // and channel axes, so channels come out in the order 0, 2, 1, 3.
    let shape = ImageShape(height: 2, width: 2, channels: 4)
    let logits = try Self.run(
      { b in
        b.initializer("grouped", dims: [5], ints: [0, 2, 2, 2, 2])
        b.initializer("merged", dims: [4], ints: [0, 4, 2, 2])
        b.node("Reshape", ["input", "grouped"], ["g"])
        b.node("Transpose", ["g"], ["t"], [("perm", .ints([0, 2, 1, 3, 4]))])
        b.node("Reshape", ["t", "merged"], ["s"])
        b.node("Flatten", ["s"], ["output"], [("axis", .int(1))])
      }, input: (4, 2, 2), classes: 16, pixels: Self.sixteen)
    let planes = Self.nchw(Self.sixteen, shape)
    let expected = [0, 2, 1, 3].flatMap { planes[($0 * 4)..<($0 * 4 + 4)] }
    #expect(logits == expected)
  }

  @Test func concatenatesAndSplitsChannels() throws {
    // Concat(x, relu(x - 8)) on channels, then Split into 1 + 3 channels; the 3 are the output.
    let logits = try Self.run(
      { b in
        b.initializer("eight", dims: [1], floats: [8])
        b.initializer("sizes", dims: [2], ints: [1, 3])
        b.node("Sub", ["input", "eight"], ["shifted"])
        b.node("Relu", ["shifted"], ["r"])
        b.node("Concat", ["input", "r"], ["c"], [("axis", .int(1))])
        b.node("Split", ["c", "sizes"], ["first", "rest"], [("axis", .int(1))])
        b.node("Flatten", ["rest"], ["output"], [("axis", .int(1))])
      }, input: (2, 2, 2), classes: 12, pixels: Array(Self.sixteen[..<8]))
    let x = Self.nchw(Array(Self.sixteen[..<8]), ImageShape(height: 2, width: 2, channels: 2))
    let concatenated = x + x.map { max($0 - 8, 0) }
    #expect(logits == Array(concatenated[4...]))
  }

  @Test func slicesWithStepsAndPadsEveryWay() throws {
    // One 4x4 channel, values 0...15 row by row.
    func pad(_ mode: String, value: Float? = nil) throws -> [Float] {
      try Self.run(
        { b in
          b.initializer("pads", dims: [8], ints: [0, 0, 1, 0, 0, 0, 0, 2])
          var inputs = ["input", "pads"]
          if let value {
            b.initializer("value", dims: [], floats: [value])
            inputs.append("value")
          }
          b.node("Pad", inputs, ["p"], [("mode", .string(mode))])
          b.initializer("starts", dims: [1], ints: [0])
          b.initializer("ends", dims: [1], ints: [1])
          b.initializer("axes", dims: [1], ints: [2])
          b.node("Slice", ["p", "starts", "ends", "axes"], ["row"])
          b.node("Flatten", ["row"], ["output"], [("axis", .int(1))])
        }, input: (1, 4, 4), classes: 6, pixels: Self.sixteen)
    }
    // The first row of the padded image: one row above, two columns to the right.
    #expect(try pad("constant", value: 0.5) == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    #expect(try pad("edge") == [0, 1, 2, 3, 3, 3])
    #expect(try pad("reflect") == [4, 5, 6, 7, 6, 5])
    #expect(try pad("wrap") == [12, 13, 14, 15, 12, 13])
    // Every other column from the end, rows 1...2.
    let sliced = try Self.run(
      { b in
        b.initializer("starts", dims: [2], ints: [1, -1])
        b.initializer("ends", dims: [2], ints: [3, -100])
        b.initializer("axes", dims: [2], ints: [2, 3])
        b.initializer("steps", dims: [2], ints: [1, -2])
        b.node("Slice", ["input", "starts", "ends", "axes", "steps"], ["s"])
        b.node("Flatten", ["s"], ["output"], [("axis", .int(1))])
      }, input: (1, 4, 4), classes: 4, pixels: Self.sixteen)
    #expect(sliced == [7, 5, 11, 9])
  }

  @Test func gathersChannelsAsGoogLeNetTransformsItsInput() throws {
    // x[:, 2] (a scalar index drops the axis), unsqueezed back, then channels [1, 0] after it.
    let logits = try Self.run(
      { b in
        b.initializer("two", dims: [], ints: [2])
        b.initializer("axes", dims: [1], ints: [1])
        b.initializer("pair", dims: [2], ints: [1, -3])
        b.node("Gather", ["input", "two"], ["plane"], [("axis", .int(1))])
        b.node("Unsqueeze", ["plane", "axes"], ["third"])
        b.node("Gather", ["input", "pair"], ["swapped"], [("axis", .int(1))])
        b.node("Concat", ["third", "swapped"], ["c"], [("axis", .int(1))])
        b.node("Flatten", ["c"], ["output"], [("axis", .int(1))])
      }, input: (3, 2, 2), classes: 12, pixels: Array(Self.sixteen[..<12]))
    let planes = Self.nchw(
      Array(Self.sixteen[..<12]), ImageShape(height: 2, width: 2, channels: 3))
    let expected = [2, 1, 0].flatMap { planes[($0 * 4)..<($0 * 4 + 4)] }
    #expect(logits == expected)
  }

  @Test func gathersFromABatchFlattenedAtExport() throws {
    // Dynamo's as_strided on [1, C, 1, 1]: Reshape to [-1], Gather [1, C, 1, 1] indices; here
    // reversed, on each image of a batch of 2.
    var b = ONNXBuilder(opset: 18)
    b.input = (4, 1, 1)
    b.classes = 4
    b.initializer("flat", dims: [1], ints: [-1])
    b.initializer("strides", dims: [1, 4, 1, 1], ints: [3, 2, 1, 0])
    b.node("Reshape", ["input", "flat"], ["f"])
    b.node("Gather", ["f", "strides"], ["g"], [("axis", .int(0))])
    b.node("Flatten", ["g"], ["output"], [("axis", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "strided.onnx", folder: nil)
    let batch = ImageBatch(
      shape: model.inputShape, pixels: Array(Self.sixteen[..<8]), labels: [0, 0])
    #expect(try model.logits(batch) == [3, 2, 1, 0, 7, 6, 5, 4])
  }

  @Test func flattensImagesOfOneValueToTheBatchAxis() throws {
    // With one value per image, a Reshape to [-1] is the batch axis alone: any op may read it.
    var b = ONNXBuilder(opset: 18)
    b.input = (1, 1, 1)
    b.classes = 1
    b.initializer("flat", dims: [1], ints: [-1])
    b.initializer("axes", dims: [1], ints: [1])
    b.node("Reshape", ["input", "flat"], ["f"])
    b.node("Relu", ["f"], ["r"])
    b.node("Unsqueeze", ["r", "axes"], ["output"])
    let model = try ONNXModel(bytes: b.serialize().model, file: "one.onnx", folder: nil)
    let batch = ImageBatch(shape: model.inputShape, pixels: [0.25, 0.75], labels: [0, 0])
    #expect(try model.logits(batch) == [0.25, 0.75])
  }

  @Test(arguments: [
    (
      "Relu",
      "a value flattened with its batch (a Reshape to one axis) read only by Gather"
    ),
    (
      "Gather",
      "a gather from a batch flattened at the export's batch of 1: indices of shape [1, …] "
        + "within one image (0..<4)"
    ),
  ])
  func refusesOtherUsesOfAFlattenedBatch(op: String, expected: String) throws {
    var b = ONNXBuilder(opset: 18)
    b.input = (4, 1, 1)
    b.classes = 4
    b.initializer("flat", dims: [1], ints: [-1])
    b.initializer("indices", dims: [4], ints: [3, 2, 1, 0])
    b.node("Reshape", ["input", "flat"], ["f"])
    if op == "Relu" {
      b.node("Relu", ["f"], ["g"])
    } else {
      b.node("Gather", ["f", "indices"], ["g"], [("axis", .int(0))])
    }
    b.node("Flatten", ["g"], ["output"], [("axis", .int(1))])
    let error = try #require(throws: FormatError.self) {
      try ONNXModel(bytes: b.serialize().model, file: "strided.onnx", folder: nil)
    }
    #expect(error.expected == expected)
  }

  @Test func inputGradientMatchesFiniteDifferences() throws {
    // Through a shuffle, a channel gather, a concat, a split, a reflect pad, a strided slice
    // and a dense layer.
    var generator = SeededGenerator(seed: 5)
    var b = ONNXBuilder(opset: 13)
    b.input = (4, 3, 3)
    b.classes = 5
    b.initializer("grouped", dims: [5], ints: [0, 2, 2, 3, 3])
    b.initializer("merged", dims: [4], ints: [0, 4, 3, 3])
    b.initializer("sizes", dims: [2], ints: [3, 5])
    b.initializer("pads", dims: [8], ints: [0, 0, 1, 1, 0, 0, 1, 1])
    b.initializer("starts", dims: [1], ints: [0])
    b.initializer("ends", dims: [1], ints: [5])
    b.initializer("axes", dims: [1], ints: [3])
    b.initializer("steps", dims: [1], ints: [2])
    b.initializer(
      "w", dims: [5, 5 * 5 * 3], floats: (0..<375).map { _ in generator.unitFloat() - 0.5 })
    b.node("Reshape", ["input", "grouped"], ["g"])
    b.node("Transpose", ["g"], ["t"], [("perm", .ints([0, 2, 1, 3, 4]))])
    b.node("Reshape", ["t", "merged"], ["shuffled"])
    b.initializer("order", dims: [4], ints: [3, 0, 2, 1])
    b.node("Gather", ["input", "order"], ["reordered"], [("axis", .int(1))])
    b.node("Relu", ["reordered"], ["r"])
    b.node("Concat", ["shuffled", "r"], ["c"], [("axis", .int(1))])
    b.node("Split", ["c", "sizes"], ["a", "rest"], [("axis", .int(1))])
    b.node("Pad", ["rest", "pads"], ["p"], [("mode", .string("reflect"))])
    b.node("Slice", ["p", "starts", "ends", "axes", "steps"], ["s"])
    b.node("Flatten", ["s"], ["flat"], [("axis", .int(1))])
    b.node("Gemm", ["flat", "w"], ["output"], [("transB", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "layout.onnx", folder: nil)
    let batch = ImageBatch(
      shape: model.inputShape, pixels: Fixtures.randomPixels(72, seed: 6).map { $0 - 0.5 },
      labels: [0, 1])
    var checker = GradientTests.Checker()
    try checker.checkInputGradient(of: model, batch: batch, labels: [2, 4], samples: 30, seed: 7)
    #expect(checker.checked >= 25)
  }

  @Test(arguments: [
    ("Concat", "an axis within the images (not the batch axis 0)"),
    ("Gather", "an axis within the images (not the batch axis 0)"),
    ("Transpose", "a transpose within the images (the batch axis 0 first)"),
    ("Slice", "a slice within the images (the batch axis 0 whole)"),
    ("Pad", "no padding of the batch axis 0"),
  ])
  func refusesToMixImages(op: String, expected: String) throws {
    var b = ONNXBuilder(opset: 13)
    b.input = (1, 2, 2)
    b.classes = 4
    switch op {
    case "Concat": b.node("Concat", ["input", "input"], ["m"], [("axis", .int(0))])
    case "Gather":
      b.initializer("first", dims: [1], ints: [0])
      b.node("Gather", ["input", "first"], ["m"], [("axis", .int(0))])
    case "Transpose": b.node("Transpose", ["input"], ["m"], [("perm", .ints([1, 0, 2, 3]))])
    case "Slice":
      b.initializer("starts", dims: [1], ints: [0])
      b.initializer("ends", dims: [1], ints: [1])
      b.initializer("axes", dims: [1], ints: [0])
      b.node("Slice", ["input", "starts", "ends", "axes"], ["m"])
    default:
      b.initializer("pads", dims: [8], ints: [1, 0, 0, 0, 0, 0, 0, 0])
      b.node("Pad", ["input", "pads"], ["m"])
    }
    b.node("Flatten", ["m"], ["output"], [("axis", .int(1))])
    let error = try #require(throws: FormatError.self) {
      try ONNXModel(bytes: b.serialize().model, file: "mix.onnx", folder: nil)
    }
    #expect(error.expected == expected)
  }

  /// 2^40 would ask for gigabytes; -2^63 has no magnitude in Int64 (a fuzzing finding).
  @Test(arguments: [1 << 40, Int64.min])
  func refusesAPadThatWouldAskForGigabytes(pad: Int64) throws {
    var b = ONNXBuilder(opset: 13)
    b.input = (1, 2, 2)
    b.classes = 4
    b.initializer("pads", dims: [8], ints: [0, 0, 0, pad, 0, 0, 0, 0])
    b.node("Pad", ["input", "pads"], ["output"])
    let error = try #require(throws: FormatError.self) {
      try ONNXModel(bytes: b.serialize().model, file: "huge.onnx", folder: nil)
    }
    #expect(error.expected == "pads of at most 1024 values a side")
  }
}
