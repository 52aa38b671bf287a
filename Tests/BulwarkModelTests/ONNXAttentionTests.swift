import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// MatMul of two values computed from the images, in a one-head self-attention over 3 tokens of
/// 4 values: softmax(q kᵀ) x with q = x Wq, k = x Wk.
@Suite struct ONNXAttentionTests {
  static let wq = Fixtures.randomPixels(16, seed: 21).map { $0 - 0.5 }
  static let wk = Fixtures.randomPixels(16, seed: 22).map { $0 - 0.5 }

  static func model() throws -> ONNXModel {
    var b = ONNXBuilder(opset: 13)
    b.input = (1, 3, 4)
    b.classes = 12
    b.initializer("axes", dims: [1], ints: [1])
    b.initializer("wq", dims: [4, 4], floats: wq)
    b.initializer("wk", dims: [4, 4], floats: wk)
    b.node("Squeeze", ["input", "axes"], ["x"])
    b.node("MatMul", ["x", "wq"], ["q"])
    b.node("MatMul", ["x", "wk"], ["k"])
    b.node("Transpose", ["k"], ["kt"], [("perm", .ints([0, 2, 1]))])
    b.node("MatMul", ["q", "kt"], ["scores"])
    b.node("Softmax", ["scores"], ["weights"], [("axis", .int(-1))])
    b.node("MatMul", ["weights", "x"], ["mixed"])
    b.node("Flatten", ["mixed"], ["output"], [("axis", .int(1))])
    return try ONNXModel(bytes: b.serialize().model, file: "attention.onnx", folder: nil)
  }

  /// The same attention in double precision, written out.
  static func reference(_ x: [Float]) -> [Double] {
    func product(_ a: [Double], _ b: [Double], _ m: Int, _ k: Int, _ p: Int) -> [Double] {
      (0..<(m * p)).map { index in
        (0..<k).reduce(0) { $0 + a[index / p * k + $1] * b[$1 * p + index % p] }
      }
    }
    let tokens = x.map(Double.init)
    let q = product(tokens, wq.map(Double.init), 3, 4, 4)
    let k = product(tokens, wk.map(Double.init), 3, 4, 4)
    let kt = (0..<12).map { k[$0 % 3 * 4 + $0 / 3] }
    let scores = product(q, kt, 3, 4, 3)
    var weights: [Double] = []
    for row in 0..<3 {
      let part = scores[(row * 3)..<(row * 3 + 3)]
      let largest = part.max() ?? 0
      let exps = part.map { exp($0 - largest) }
      let sum = exps.reduce(0, +)
      weights += exps.map { $0 / sum }
    }
    return product(weights, tokens, 3, 3, 4)
  }

  @Test func matchesTheAttentionWrittenOut() throws {
    let model = try Self.model()
    // One channel: the NHWC pixels are the tokens row by row.
    let pixels = Fixtures.randomPixels(12, seed: 23)
    let logits = try model.logits(ImageBatch(shape: model.inputShape, pixels: pixels, labels: [0]))
    for (found, expected) in zip(logits, Self.reference(pixels)) {
      #expect(abs(Double(found) - expected) < 1e-5, "\(found) vs \(expected)")
    }
  }

  @Test func inputGradientMatchesFiniteDifferences() throws {
    let model = try Self.model()
    let batch = ImageBatch(
      shape: model.inputShape, pixels: Fixtures.randomPixels(36, seed: 24), labels: [0, 1, 2])
    var checker = GradientTests.Checker()
    try checker.checkInputGradient(
      of: model, batch: batch, labels: [3, 7, 11], samples: 24, seed: 25)
    #expect(checker.checked >= 20)
  }
}
