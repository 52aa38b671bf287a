import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// Window operators with every attribute that trips people up, checked against onnxruntime.
@Suite struct ONNXOperatorTests {
  /// Input 2 x 9 x 9; eight branches, each flattened into a Gemm to 10 classes and summed:
  /// grouped, strided, dilated, asymmetrically padded Conv; MaxPool with ceil mode and pads;
  /// Conv SAME_UPPER and SAME_LOWER; AveragePool with and without count_include_pad; MaxPool
  /// with the default stride 1; an unfolded batch norm; ReduceMean and GlobalMaxPool; and
  /// broadcasting Add, Mul, Sub and Div with constants.
  static func windows() -> ONNXBuilder {
    var generator = SeededGenerator(seed: 77)
    func random(_ count: Int, scale: Float = 0.5) -> [Float] {
      (0..<count).map { _ in (generator.unitFloat() - 0.5) * 2 * scale }
    }
    var b = ONNXBuilder(opset: 13)
    b.input = (2, 9, 9)
    var branches: [(String, Int)] = []
    b.initializer("w1", dims: [4, 1, 3, 3], floats: random(36))
    b.initializer("b1", dims: [4], floats: random(4))
    b.node(
      "Conv", ["input", "w1", "b1"], ["y1"], name: "grouped",
      [
        ("group", .int(2)), ("strides", .ints([2, 1])), ("dilations", .ints([1, 2])),
        ("pads", .ints([1, 0, 2, 1])),
      ])
    // Output 4 x 5 x 6 (H: (9 + 3 - 3) / 2 + 1 = 5; W: (9 + 1 - 5) / 1 + 1 = 6).
    b.node("Relu", ["y1"], ["y2"])
    b.node(
      "MaxPool", ["y2"], ["y3"], name: "ceil",
      [
        ("kernel_shape", .ints([3, 2])), ("pads", .ints([1, 1, 1, 0])), ("ceil_mode", .int(1)),
        ("strides", .ints([2, 2])),
      ])
    branches.append(("y3", 4 * 3 * 4))
    b.initializer("w2", dims: [2, 2, 3, 3], floats: random(36))
    b.node(
      "Conv", ["input", "w2"], ["y4"], name: "upper",
      [("auto_pad", .string("SAME_UPPER")), ("strides", .ints([2, 2]))])
    b.node(
      "AveragePool", ["y4"], ["y5"], name: "include",
      [
        ("kernel_shape", .ints([2, 2])), ("pads", .ints([1, 1, 1, 1])),
        ("count_include_pad", .int(1)), ("strides", .ints([2, 2])),
      ])
    branches.append(("y5", 2 * 3 * 3))
    b.node(
      "AveragePool", ["y4"], ["y6"], name: "exclude",
      [
        ("kernel_shape", .ints([3, 3])), ("pads", .ints([1, 1, 1, 1])), ("ceil_mode", .int(1)),
        ("strides", .ints([2, 2])),
      ])
    branches.append(("y6", 2 * 3 * 3))
    b.node("MaxPool", ["input"], ["y7"], name: "stride1", [("kernel_shape", .ints([2, 2]))])
    branches.append(("y7", 2 * 8 * 8))
    b.initializer("w3", dims: [1, 2, 2, 2], floats: random(8))
    b.node("Conv", ["input", "w3"], ["y8"], name: "lower", [("auto_pad", .string("SAME_LOWER"))])
    branches.append(("y8", 81))
    b.initializer("scale", dims: [2], floats: [1.5, 0.5])
    b.initializer("shift", dims: [2], floats: [0.1, -0.2])
    b.initializer("mean", dims: [2], floats: [0.4, 0.6])
    b.initializer("var", dims: [2], floats: [0.8, 1.2])
    b.node("BatchNormalization", ["input", "scale", "shift", "mean", "var"], ["y9"], name: "bn")
    b.node(
      "ReduceMean", ["y9"], ["y10"], name: "mean",
      [("axes", .ints([-2, -1])), ("keepdims", .int(0))])
    branches.append(("y10", 2))
    b.node("GlobalMaxPool", ["y9"], ["y11"])
    branches.append(("y11", 2))
    b.initializer("rowBias", dims: [1, 1, 1, 9], floats: random(9))
    b.initializer("channelScale", dims: [2, 1, 1], floats: [2, -1])
    b.initializer("two", dims: [], floats: [2])
    b.node("Add", ["input", "rowBias"], ["a1"])
    b.node("Mul", ["a1", "channelScale"], ["a2"])
    b.node("Sub", ["two", "a2"], ["a3"])
    b.node("Div", ["a3", "two"], ["a4"])
    b.node("Mul", ["a4", "y9"], ["a5"])
    branches.append(("a5", 162))
    var sum = ""
    for (index, (name, size)) in branches.enumerated() {
      b.initializer("fc\(index)", dims: [10, size], floats: random(10 * size, scale: 0.2))
      b.node("Flatten", [name], ["f\(index)"])
      b.node("Gemm", ["f\(index)", "fc\(index)"], ["g\(index)"], [("transB", .int(1))])
      if index > 0 {
        let next = index == branches.count - 1 ? "output" : "s\(index)"
        b.node("Add", [index == 1 ? "g0" : sum, "g\(index)"], [next])
        sum = next
      }
    }
    return b
  }

  static let pixels = Fixtures.randomPixels(2 * 81 * 2, seed: 78)

  /// onnxruntime 1.31's output for `windows()` on `pixels` (2 images).
  static let expected: [Float] = [
    0.3484349250793457, 0.616165816783905, 0.21481028199195862, -1.1038248538970947,
    -2.29888653755188, -0.7123004794120789, -0.14793267846107483, 1.8485007286071777,
    -1.9955544471740723, -0.9276769757270813, 1.1168473958969116, 0.5894455313682556,
    0.09020976722240448, -0.9336162805557251, -2.2862539291381836, -1.039838194847107,
    -0.6462192535400391, 1.0457969903945923, -1.430545687675476, -0.85218346118927,
  ]

  static func model() throws -> ONNXModel {
    try ONNXModel(bytes: windows().serialize().model, file: "windows.onnx", folder: nil)
  }

  @Test func matchesOnnxruntimeOnWindowOperatorsAndBroadcasting() throws {
    let model = try ONNXOperatorTests.model()
    #expect(model.inputShape == ImageShape(height: 9, width: 9, channels: 2))
    let batch = ImageBatch(
      shape: model.inputShape, pixels: ONNXOperatorTests.pixels, labels: [0, 1])
    let logits = try model.logits(batch)
    #expect(ONNXModelTests.maximumDifference(logits, ONNXOperatorTests.expected) <= 1e-5)
  }

  @Test func inputGradientMatchesFiniteDifferences() throws {
    let model = try ONNXOperatorTests.model()
    let batch = ImageBatch(
      shape: model.inputShape, pixels: ONNXOperatorTests.pixels, labels: [0, 1])
    var checker = GradientTests.Checker()
    try checker.checkInputGradient(of: model, batch: batch, labels: [2, 7], samples: 40, seed: 6)
    #expect(checker.checked >= 25)
  }

  @Test func evaluatesTheShapePlumbingAtLoadTime() throws {
    // Shape → Slice → Concat with constants → Reshape, Unsqueeze/Squeeze on image values,
    // Cast and Transpose on constants: what the exporters emit around a flatten.
    var b = ONNXBuilder(opset: 13)
    b.input = (2, 3, 3)
    b.classes = 4
    b.initializer("starts", dims: [1], ints: [0])
    b.initializer("ends", dims: [1], ints: [1])
    b.initializer("minusOne", dims: [1], ints: [-1])
    b.initializer("axes0", dims: [1], ints: [0])
    b.initializer("weightT", dims: [18, 4], floats: (0..<72).map { Float($0 % 7) - 3 })
    b.node("Shape", ["input"], ["shape"])
    b.node("Slice", ["shape", "starts", "ends"], ["batch"])
    b.node("Concat", ["batch", "minusOne"], ["target"], [("axis", .int(0))])
    b.node("Cast", ["target"], ["target64"], [("to", .int(7))])
    b.node("Unsqueeze", ["input", "axes0"], ["lifted"])
    b.node("Squeeze", ["lifted", "axes0"], ["dropped"])
    b.node("Reshape", ["dropped", "target64"], ["flat"])
    b.node("Transpose", ["weightT"], ["weight"], [("perm", .ints([1, 0]))])
    b.node("Gemm", ["flat", "weight"], ["output"], [("transB", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "plumbing.onnx", folder: nil)
    #expect(model.plan.steps.count == 1)
    let pixels = (0..<18).map { Float($0) / 18 }
    let batch = ImageBatch(shape: model.inputShape, pixels: pixels, labels: [0])
    // The flat NCHW vector times weightT, by hand.
    var nchw = [Float](repeating: 0, count: 18)
    for pixel in 0..<9 {
      for channel in 0..<2 { nchw[channel * 9 + pixel] = pixels[pixel * 2 + channel] }
    }
    var expected = [Float](repeating: 0, count: 4)
    for column in 0..<4 {
      for row in 0..<18 {
        let weight = Float((row * 4 + column) % 7) - 3
        expected[column] += nchw[row] * weight
      }
    }
    #expect(ONNXModelTests.maximumDifference(try model.logits(batch), expected) <= 1e-5)
  }

  /// Attributes that ONNX defines as 0/1 or as finite numbers are checked: `transB = 5` and
  /// `alpha = NaN` loaded with exit 0 and classified every image as NaN.
  @Test(arguments: [
    (ONNXBuilder.Attribute.int(5), "transB", "attribute 'transB' 0 or 1", "5"),
    (ONNXBuilder.Attribute.float(.nan), "alpha", "a finite attribute 'alpha'", "nan"),
    (ONNXBuilder.Attribute.float(.infinity), "beta", "a finite attribute 'beta'", "inf"),
  ])
  func rejectsGemmAttributesOutsideTheirDomain(
    value: ONNXBuilder.Attribute, name: String, expected: String, found: String
  ) throws {
    var b = ONNXBuilder(opset: 13)
    b.input = (1, 2, 2)
    b.classes = 2
    b.initializer("minusOne", dims: [2], ints: [1, -1])
    b.initializer("weight", dims: [2, 4], floats: [1, 0, 0, 0, 0, 1, 0, 0])
    b.node("Reshape", ["input", "minusOne"], ["flat"])
    b.node("Gemm", ["flat", "weight"], ["output"], [(name, value)])
    let error = try #require(throws: FormatError.self) {
      try ONNXModel(bytes: b.serialize().model, file: "gemm.onnx", folder: nil)
    }
    #expect(error.file == "gemm.onnx")
    #expect(error.expected == expected)
    #expect(error.found == found)
  }

  @Test func rejectsAReshapeThatWouldMixImages() throws {
    var b = ONNXBuilder(opset: 13)
    b.input = (2, 3, 3)
    b.classes = 9
    b.initializer("target", dims: [2], ints: [4, 9])
    b.node("Reshape", ["input", "target"], ["output"])
    let error = try #require(throws: FormatError.self) {
      try ONNXModel(bytes: b.serialize().model, file: "mix.onnx", folder: nil)
    }
    #expect(error.description.contains("whose other dimensions hold one image (18 values"))
    #expect(error.description.hasSuffix("found [4, 9]"))
  }
}
