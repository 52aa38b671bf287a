import BulwarkCore
import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

/// Small versions of torchvision's classification families, exported by PyTorch's TorchScript
/// exporter (opsets 13 and 17) and its dynamo exporter (opsets 18 and 20) with a fixed batch
/// of 1, and once with a free batch (its channel shuffle then computes its shapes from `Shape`
/// at run time), loaded through ``loadClassifier(contentsOf:options:inputShape:)``: their
/// logits against onnxruntime's, and their input gradients against finite differences.
/// `Fixtures/Torchvision/make_fixtures.py` made the files and the reference logits.
@Suite struct ONNXTorchvisionTests {
  /// The reference file: the input's shape and, per model file, onnxruntime's logits for it.
  struct Reference: Decodable {
    var count: Int
    var height: Int
    var width: Int
    var channels: Int
    var logits: [String: [Float]]
  }

  static let families = [
    "resnet18", "regnet_x_400mf", "mnasnet0_5", "mobilenet_v2", "mobilenet_v3_small",
    "efficientnet_b0", "densenet121", "googlenet", "squeezenet1_1", "shufflenet_v2",
    "convnext_tiny",
  ]
  static let exports = [
    "torchscript-opset13", "torchscript-opset17", "dynamo-opset18", "dynamo-opset20",
  ]
  static let files =
    families.flatMap { family in exports.map { "\(family)-\($0).onnx" } }
    + ["shufflenet_v2-torchscript-opset17-dynamic-batch.onnx"]

  static func url(_ name: String) throws -> URL {
    try #require(
      Bundle.module.url(forResource: "Fixtures/Torchvision/\(name)", withExtension: nil))
  }

  static func reference() throws -> Reference {
    try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url("reference.json")))
  }

  /// The input the reference logits are for: NHWC value `i` is
  /// `((7919 i + 13) mod 65521) / 65536`, exact in Float.
  static func input(_ reference: Reference) -> ImageBatch {
    let shape = ImageShape(
      height: reference.height, width: reference.width, channels: reference.channels)
    let pixels = (0..<(reference.count * shape.valueCount)).map {
      Float(($0 * 7919 + 13) % 65521) / 65536
    }
    return ImageBatch(
      shape: shape, pixels: pixels, labels: [Int](repeating: 0, count: reference.count))
  }

  /// Every fixture is a family and export the suite lists, and the other way round.
  @Test func coversEveryFixture() throws {
    let reference = try Self.reference()
    #expect(Set(reference.logits.keys) == Set(Self.files))
  }

  /// The logits match onnxruntime's to 1e-4 relative: the largest absolute difference over the
  /// batch, divided by the largest absolute reference logit (at least 1e-3).
  @Test(arguments: files)
  func matchesOnnxruntime(file: String) throws {
    let reference = try Self.reference()
    let expected = try #require(reference.logits[file])
    let model = try loadClassifier(contentsOf: Self.url(file))
    let logits = try model.logits(Self.input(reference))
    try #require(logits.count == expected.count)
    let difference = zip(logits, expected).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
    let scale = max(expected.reduce(Float(0)) { max($0, abs($1)) }, 1e-3)
    #expect(difference / scale <= 1e-4, "largest difference \(difference), scale \(scale)")
  }

  /// The input gradient of `Σ r · logits` (r fixed, the sum in Double) matches central
  /// differences with step 2^-10 at the three pixels of largest gradient and nine seeded ones,
  /// within 2% of the difference plus 0.2% of the largest gradient (Float forward passes leave
  /// noise of order 1e-6 in the sum, so of order 1e-3 in a quotient over the step; the errors
  /// seen were under half this tolerance). A pixel whose forward and backward one-sided
  /// differences disagree by as much has a ReLU, ReLU6 or max-pool kink within the step and is
  /// not checked; at least half must be.
  @Test(arguments: files)
  func inputGradientMatchesFiniteDifferences(file: String) throws {
    let model = try loadClassifier(contentsOf: Self.url(file))
    let full = Self.input(try Self.reference())
    let size = full.shape.valueCount
    let image = ImageBatch(shape: full.shape, pixels: Array(full.pixels[..<size]), labels: [0])
    let r = (0..<model.classCount).map { Float($0 % 3) - 1 + Float($0) / 16 }
    let analytic = try model.inputGradient(image, logitGradient: r)
    let largest = analytic.reduce(Float(0)) { max($0, abs($1)) }
    #expect(largest > 1e-4, "the input gradient must not vanish")

    var generator = SeededGenerator(seed: 7)
    let strongest = analytic.indices.sorted { abs(analytic[$0]) > abs(analytic[$1]) }.prefix(3)
    let pixels = Array(strongest) + (0..<9).map { _ in Int(generator.next() % UInt64(size)) }
    // Exact on these pixels (multiples of 2^-16 below 1), so the step taken is the step.
    let step: Float = 1.0 / 1024
    var moved: [Float] = image.pixels
    for pixel in pixels {
      for sign: Float in [1, -1] {
        var copy = image.pixels
        copy[pixel] += sign * step
        moved += copy
      }
    }
    let batch = ImageBatch(
      shape: image.shape, pixels: moved, labels: [Int](repeating: 0, count: 1 + 2 * pixels.count))
    let logits = try model.logits(batch)
    var objectives: [Double] = []
    for row in 0..<batch.count {
      var sum = 0.0
      for (index, weight) in r.enumerated() {
        sum += Double(logits[row * r.count + index]) * Double(weight)
      }
      objectives.append(sum)
    }
    func tolerance(_ numeric: Double) -> Double { 2e-2 * abs(numeric) + 2e-3 * Double(largest) }
    var checked = 0
    for (position, pixel) in pixels.enumerated() {
      let (centre, up, down) = (
        objectives[0], objectives[1 + 2 * position], objectives[2 + 2 * position]
      )
      let forward = (up - centre) / Double(step)
      let backward = (centre - down) / Double(step)
      guard abs(forward - backward) <= tolerance(forward) else { continue }
      checked += 1
      let numeric = (up - down) / Double(2 * step)
      #expect(
        abs(Double(analytic[pixel]) - numeric) <= tolerance(numeric),
        "pixel \(pixel): \(analytic[pixel]) vs \(numeric)")
    }
    #expect(
      checked * 2 >= pixels.count, "too many kinks: \(pixels.count - checked) of \(pixels.count)")
  }
}
