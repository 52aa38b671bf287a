import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// The elementwise activations torchvision's families export (MobileNet's ReLU6 as Clip and
/// HardSwish, EfficientNet's Sigmoid, GELU in both forms, ...): values at hand-checked points,
/// and input gradients against finite differences.
@Suite struct ONNXActivationTests {
  /// An activation node as an exporter writes it: its type, attributes, constant inputs and
  /// opset.
  struct Case: CustomTestStringConvertible, Sendable {
    var op: String
    var attributes: [(String, ONNXBuilder.Attribute)] = []
    var constants: [Float?] = []
    var opset = 17
    var inputs: [Float]
    var outputs: [Double]
    var testDescription: String { op + (attributes.isEmpty ? "" : " \(attributes.map(\.0))") }

    /// Adds the node, its constant inputs as initializers, from `input` to `output`.
    func add(from input: String, to output: String, in b: inout ONNXBuilder) {
      var inputs = [input]
      for (index, constant) in constants.enumerated() {
        guard let constant else {
          inputs.append("")
          continue
        }
        b.initializer("bound\(index)", dims: [], floats: [constant])
        inputs.append("bound\(index)")
      }
      b.node(op, inputs, [output], attributes)
    }
  }

  /// Values worked out by hand (math library values for the transcendental ones).
  static let cases: [Case] = [
    Case(
      op: "Clip", constants: [0, 6], opset: 13, inputs: [-1, 0.5, 5, 7], outputs: [0, 0.5, 5, 6]),
    Case(
      op: "Clip", constants: [nil, 0.25], opset: 13, inputs: [-9, 0, 0.2, 1],
      outputs: [-9, 0, 0.2, 0.25]),
    Case(
      op: "Clip", attributes: [("min", .float(-0.5)), ("max", .float(0.5))], opset: 10,
      inputs: [-1, -0.25, 0.25, 1], outputs: [-0.5, -0.25, 0.25, 0.5]),
    Case(
      op: "Sigmoid", inputs: [0, Float(log(3.0)), -Float(log(3.0)), 2],
      outputs: [0.5, 0.75, 0.25, 0.8807970779778823]),
    Case(op: "HardSigmoid", inputs: [-3, 0, 1, 3], outputs: [0, 0.5, 0.7, 1]),
    Case(
      op: "HardSigmoid", attributes: [("alpha", .float(0.5)), ("beta", .float(0))],
      inputs: [-1, 0.5, 1, 3], outputs: [0, 0.25, 0.5, 1]),
    Case(op: "HardSwish", inputs: [-4, -1, 1, 4], outputs: [0, -1.0 / 3, 2.0 / 3, 4]),
    Case(
      op: "Tanh", inputs: [0, 0.5, -1, 2],
      outputs: [0, 0.46211715726000974, -0.7615941559557649, 0.9640275800758169]),
    Case(
      op: "LeakyRelu", attributes: [("alpha", .float(0.1))], inputs: [-2, -0.5, 0, 3],
      outputs: [-0.2, -0.05, 0, 3]),
    Case(op: "LeakyRelu", inputs: [-2, 1, 0, 3], outputs: [-0.02, 1, 0, 3]),
    Case(
      op: "Elu", inputs: [-1, -0.5, 0.5, 2],
      outputs: [-0.6321205588285577, -0.3934693402873666, 0.5, 2]),
    Case(
      op: "Gelu", opset: 20, inputs: [-1, -0.5, 0.5, 1],
      outputs: [
        -0.15865525393145707, -0.15426876936299344, 0.34573123063700656, 0.8413447460685429,
      ]),
    Case(
      op: "Gelu", attributes: [("approximate", .string("tanh"))], opset: 20,
      inputs: [-1, -0.5, 0.5, 2],
      outputs: [
        -0.15880800939172324, -0.15428599017485606, 0.34571400982514394, 1.954597694087775,
      ]),
    Case(
      op: "Erf", inputs: [0, 0.5, -1, 2],
      outputs: [0, 0.5204998778130465, -0.8427007929497149, 0.9953222650189527]),
  ]

  /// `input (1x1x4) → Flatten → activation`, the activation's output the graph's.
  static func model(_ test: Case, constantInput: Bool = false) throws -> ONNXModel {
    var b = ONNXBuilder(opset: test.opset)
    b.input = (1, 1, 4)
    b.classes = 4
    b.node("Flatten", ["input"], ["flat"], [("axis", .int(1))])
    test.add(from: "flat", to: "output", in: &b)
    return try ONNXModel(bytes: b.serialize().model, file: "\(test.op).onnx", folder: nil)
  }

  @Test(arguments: cases)
  func computesTheValuesWorkedOutByHand(test: Case) throws {
    let model = try Self.model(test)
    let batch = ImageBatch(shape: model.inputShape, pixels: test.inputs, labels: [0])
    let logits = try model.logits(batch)
    for (found, expected) in zip(logits, test.outputs) {
      #expect(
        abs(Double(found) - expected) <= 1e-6 * max(1, abs(expected)), "\(found) vs \(expected)")
    }
  }

  @Test(arguments: cases)
  func inputGradientMatchesFiniteDifferences(test: Case) throws {
    // input (1x3x3) → Flatten → Gemm to 6 → activation → Gemm to 4 classes, seeded weights.
    var generator = SeededGenerator(seed: 31)
    func random(_ count: Int) -> [Float] {
      (0..<count).map { _ in (generator.unitFloat() - 0.5) * 2 }
    }
    var b = ONNXBuilder(opset: test.opset)
    b.input = (1, 3, 3)
    b.classes = 4
    b.initializer("w1", dims: [6, 9], floats: random(54))
    b.initializer("b1", dims: [6], floats: random(6))
    b.initializer("w2", dims: [4, 6], floats: random(24))
    b.node("Flatten", ["input"], ["flat"], [("axis", .int(1))])
    b.node("Gemm", ["flat", "w1", "b1"], ["hidden"], [("transB", .int(1))])
    test.add(from: "hidden", to: "active", in: &b)
    b.node("Gemm", ["active", "w2"], ["output"], [("transB", .int(1))])
    let model = try ONNXModel(bytes: b.serialize().model, file: "chain.onnx", folder: nil)
    let batch = ImageBatch(
      shape: model.inputShape, pixels: Fixtures.randomPixels(27, seed: 32), labels: [0, 1, 2])
    var checker = GradientTests.Checker()
    try checker.checkInputGradient(
      of: model, batch: batch, labels: [1, 3, 0], samples: 20, seed: 33)
    #expect(checker.checked >= 12)
  }

  @Test func foldsAnActivationOfConstants() throws {
    // Exporters apply activations to constants too (a Sigmoid of a learnt gate): no step runs.
    var b = ONNXBuilder(opset: 17)
    b.input = (1, 1, 2)
    b.classes = 2
    b.initializer("gate", dims: [2], floats: [0, Float(log(3.0))])
    b.node("Sigmoid", ["gate"], ["scale"])
    b.node("Flatten", ["input"], ["flat"], [("axis", .int(1))])
    b.node("Mul", ["flat", "scale"], ["output"])
    let model = try ONNXModel(bytes: b.serialize().model, file: "gate.onnx", folder: nil)
    #expect(model.plan.steps.count == 1)
    let logits = try model.logits(ImageBatch(shape: model.inputShape, pixels: [2, 4], labels: [0]))
    #expect(abs(logits[0] - 1) < 1e-6 && abs(logits[1] - 3) < 1e-6)
  }

  @Test func refusesAnUnknownGeluApproximation() throws {
    let test = Case(
      op: "Gelu", attributes: [("approximate", .string("fast"))], opset: 20, inputs: [],
      outputs: [])
    let error = try #require(throws: FormatError.self) { try Self.model(test) }
    #expect(error.expected == "approximate 'none' or 'tanh'")
    #expect(error.found == "'fast'")
  }

  @Test(arguments: ["Softmax", "LogSoftmax"])
  func runsASoftmaxInsideTheGraph(op: String) throws {
    // [N, 2, 2]: a softmax over the last axis (pairs), then doubled: not the graph's last step.
    func model(opset: Int, axis: Int64) throws -> ONNXModel {
      var b = ONNXBuilder(opset: opset)
      b.input = (1, 2, 2)
      b.classes = 4
      b.initializer("two", dims: [], floats: [2])
      if opset >= 13 {
        b.initializer("axes", dims: [1], ints: [1])
        b.node("Squeeze", ["input", "axes"], ["pairs"])
      } else {
        b.node("Squeeze", ["input"], ["pairs"], [("axes", .ints([1]))])
      }
      b.node(op, ["pairs"], ["p"], [("axis", .int(axis))])
      b.node("Mul", ["p", "two"], ["doubled"])
      b.node("Flatten", ["doubled"], ["output"], [("axis", .int(1))])
      return try ONNXModel(bytes: b.serialize().model, file: "softmax.onnx", folder: nil)
    }
    let pixels: [Float] = [0, Float(log(3.0)), 1, 1]
    let pairs: [Double] =
      op == "Softmax" ? [0.25, 0.75, 0.5, 0.5] : [log(0.25), log(0.75), log(0.5), log(0.5)]
    let current = try model(opset: 13, axis: -1)
    let logits = try current.logits(
      ImageBatch(shape: current.inputShape, pixels: pixels, labels: [0]))
    for (found, expected) in zip(logits, pairs.map { 2 * $0 }) {
      #expect(abs(Double(found) - expected) < 1e-6, "\(found) vs \(expected)")
    }
    // Before opset 13, axis 1 flattens both pairs into one group of 4.
    let old = try model(opset: 11, axis: 1)
    let whole = try old.logits(ImageBatch(shape: old.inputShape, pixels: pixels, labels: [0]))
    let total = 1.0 + 3 + M_E + M_E
    let expected = [1.0, 3, M_E, M_E].map { op == "Softmax" ? 2 * $0 / total : 2 * log($0 / total) }
    for (found, wanted) in zip(whole, expected) {
      #expect(abs(Double(found) - wanted) < 1e-5, "\(found) vs \(wanted)")
    }
    var checker = GradientTests.Checker()
    let batch = ImageBatch(
      shape: current.inputShape, pixels: Fixtures.randomPixels(8, seed: 41), labels: [0, 1])
    try checker.checkInputGradient(of: current, batch: batch, labels: [1, 2], samples: 8, seed: 42)
    #expect(checker.checked >= 6)
  }
}
