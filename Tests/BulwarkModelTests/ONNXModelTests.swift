import BulwarkCore
import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkModel

@Suite struct ONNXModelTests {
  static func batch(_ count: Int, shape: ImageShape, seed: UInt64) -> ImageBatch {
    ImageBatch(
      shape: shape, pixels: Fixtures.randomPixels(count * shape.valueCount, seed: seed),
      labels: (0..<count).map { $0 % 10 })
  }

  static func load(_ builder: ONNXBuilder, foldsIntoConvolutions: Bool = true) throws
    -> ONNXModel
  {
    let (model, external) = builder.serialize()
    guard case .external(let location) = builder.storage else {
      return try ONNXModel(
        bytes: model, file: "memory.onnx", folder: nil, options: ComputeOptions(threads: 2),
        foldsIntoConvolutions: foldsIntoConvolutions)
    }
    let scratch = try ScratchFolder("bulwark-onnx")
    let folder = scratch.url
    try Data(model).write(to: folder.appendingPathComponent("model.onnx"))
    try Data(external).write(to: folder.appendingPathComponent(location))
    return try ONNXModel(
      contentsOf: folder.appendingPathComponent("model.onnx"), options: ComputeOptions(threads: 2))
  }

  /// The largest difference of two arrays of the same count (infinity when the counts differ).
  static func maximumDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
  }

  static let lenet = Result { try Network(architecture: .lenet5(classes: 10), seed: 1) }

  @Test(arguments: ["dynamo", "torchscript"])
  func matchesTheNetworkForBothExporterStyles(style: String) throws {
    let network = try ONNXModelTests.lenet.get()
    let builder =
      style == "dynamo" ? ONNXExport.lenetDynamo(network) : ONNXExport.lenetTorchScript(network)
    let model = try ONNXModelTests.load(builder)
    #expect(model.inputShape == ImageShape(height: 28, width: 28, channels: 1))
    #expect(model.classCount == 10)
    #expect(model.parameterCount == network.parameterCount)
    #expect(model.opset == (style == "dynamo" ? 18 : 11))
    let batch = ONNXModelTests.batch(19, shape: model.inputShape, seed: 3)
    let expected = try network.logits(batch)
    let found = try model.logits(batch)
    #expect(found.count == expected.count)
    #expect(ONNXModelTests.maximumDifference(found, expected) <= 1e-4)
    #expect(try model.predictions(batch) == network.predictions(batch))

    let labels = (0..<19).map { ($0 * 7) % 10 }
    let reference = try network.lossGradient(batch, labels: labels)
    let gradient = try model.lossGradient(batch, labels: labels)
    #expect(abs(gradient.loss - reference.loss) <= 1e-5)
    #expect(ONNXModelTests.maximumDifference(gradient.input, reference.input) <= 1e-5)
  }

  @Test func givesTheSameResultsForEveryThreadCount() throws {
    var model = try ONNXModelTests.load(
      ONNXExport.lenetTorchScript(try ONNXModelTests.lenet.get()))
    let batch = ONNXModelTests.batch(37, shape: model.inputShape, seed: 4)
    model.options = ComputeOptions(threads: 1)
    let one = try model.logits(batch)
    model.options = ComputeOptions(threads: 3)
    #expect(try model.logits(batch) == one)
  }

  @Test func takesTheLogitsBeforeAFinalLogSoftmax() throws {
    let network = try ONNXModelTests.lenet.get()
    let model = try ONNXModelTests.load(
      ONNXExport.lenetTorchScript(network, endsInLogSoftmax: true))
    #expect(model.endsInSoftmax)
    let batch = ONNXModelTests.batch(3, shape: model.inputShape, seed: 5)
    #expect(
      ONNXModelTests.maximumDifference(try model.logits(batch), try network.logits(batch)) <= 1e-4)
  }

  static func residualWeights(zeroBranch: Bool) -> (conv2: [Float], bn2: [[Float]]) {
    var generator = SeededGenerator(seed: 21)
    let conv2 = (0..<(8 * 8 * 9)).map { _ in (generator.unitFloat() - 0.5) * 0.3 }
    let bn2 = [
      (0..<8).map { _ in zeroBranch ? 0 : 0.5 + generator.unitFloat() },
      (0..<8).map { _ in zeroBranch ? 0 : generator.unitFloat() - 0.5 },
      (0..<8).map { _ in generator.unitFloat() - 0.5 },
      (0..<8).map { _ in 0.5 + generator.unitFloat() },
    ]
    return (conv2, bn2)
  }

  @Test func runsASkipConnectionWithBatchNorms() throws {
    // With the residual branch zero (bn2's scale and shift 0), the graph equals the network.
    let network = try ONNXExport.rgbNetwork(seed: 7)
    let weights = ONNXModelTests.residualWeights(zeroBranch: true)
    let model = try ONNXModelTests.load(
      ONNXExport.residualCNN(network, conv2: weights.conv2, bn2: weights.bn2))
    #expect(model.inputShape == ImageShape(height: 16, width: 16, channels: 3))
    let batch = ONNXModelTests.batch(5, shape: model.inputShape, seed: 8)
    #expect(
      ONNXModelTests.maximumDifference(try model.logits(batch), try network.logits(batch)) <= 1e-4)
    let labels = [1, 2, 3, 4, 5]
    let reference = try network.lossGradient(batch, labels: labels)
    let gradient = try model.lossGradient(batch, labels: labels)
    #expect(ONNXModelTests.maximumDifference(gradient.input, reference.input) <= 1e-5)
  }

  @Test func takesTheInputShapeGivenWhereTheGraphLeavesItFree() throws {
    let network = try ONNXExport.rgbNetwork(seed: 7)
    let weights = ONNXModelTests.residualWeights(zeroBranch: true)
    var builder = ONNXExport.residualCNN(network, conv2: weights.conv2, bn2: weights.bn2)
    builder.inputDims = [nil, 3, nil, nil]  // torch.onnx.export with dynamic height and width
    let (bytes, _) = builder.serialize()
    func load(_ shape: ImageShape?) throws -> ONNXModel {
      try ONNXModel(bytes: bytes, file: "free.onnx", folder: nil, inputShape: shape)
    }
    do {
      _ = try load(nil)
      Issue.record("a free input shape was taken without a shape given")
    } catch {
      #expect(error is FormatError)
      #expect("\(error)".contains("with C, H and W fixed (or an input shape given)"))
    }
    let shape = ImageShape(height: 16, width: 16, channels: 3)
    let model = try load(shape)
    #expect(model.inputShape == shape)
    let batch = ONNXModelTests.batch(3, shape: shape, seed: 8)
    #expect(
      ONNXModelTests.maximumDifference(try model.logits(batch), try network.logits(batch)) <= 1e-4)
    // The graph's global average pool takes any size; a fixed axis must agree.
    #expect(try load(ImageShape(height: 24, width: 20, channels: 3)).inputShape.height == 24)
    do {
      _ = try load(ImageShape(height: 16, width: 16, channels: 1))
      Issue.record("a shape against the model's fixed channels was taken")
    } catch {
      #expect("\(error)".contains("the input shape given, C = 1"), "\(error)")
      #expect("\(error)".contains("C fixed at 3 by the model"), "\(error)")
    }
  }

  @Test func foldsBatchNormsWithoutChangingTheResults() throws {
    let weights = ONNXModelTests.residualWeights(zeroBranch: false)
    let builder = ONNXExport.residualCNN(
      try ONNXExport.rgbNetwork(seed: 7), conv2: weights.conv2, bn2: weights.bn2)
    let folded = try ONNXModelTests.load(builder)
    let unfolded = try ONNXModelTests.load(builder, foldsIntoConvolutions: false)
    // Both batch norms and the first ReLU (the second follows the Add).
    #expect(folded.plan.steps.count + 3 == unfolded.plan.steps.count)
    let batch = ONNXModelTests.batch(4, shape: folded.inputShape, seed: 9)
    #expect(
      ONNXModelTests.maximumDifference(try folded.logits(batch), try unfolded.logits(batch)) <= 1e-5
    )
    let labels = [0, 3, 6, 9]
    let a = try folded.lossGradient(batch, labels: labels)
    let b = try unfolded.lossGradient(batch, labels: labels)
    #expect(ONNXModelTests.maximumDifference(a.input, b.input) <= 1e-5)
  }

  /// Convolutions each followed by a ReLU: a stride-2 one (the im2col product path), an
  /// 8-output one (the direct kernel), a 24-output one on a 6x6 map (products of several
  /// images), and one whose output also feeds an Add (its ReLU stays a step).
  static func rectifiedConvolutions() -> ONNXBuilder {
    var b = ONNXBuilder(opset: 13)
    b.input = (3, 12, 12)
    b.storage = .floatData
    let layers = [("a", 3, 20, 2), ("b", 20, 8, 1), ("c", 8, 24, 1), ("d", 24, 24, 1)]
    for (index, (name, inputs, outputs, _)) in layers.enumerated() {
      b.initializer(
        "\(name).weight", dims: [outputs, inputs, 3, 3],
        floats: Fixtures.randomPixels(outputs * inputs * 9, seed: UInt64(20 + index)).map {
          ($0 - 0.5) / 3
        })
      b.initializer(
        "\(name).bias", dims: [outputs],
        floats: Fixtures.randomPixels(outputs, seed: UInt64(30 + index)).map { $0 - 0.5 })
    }
    var x = "input"
    for (name, _, _, stride) in layers {
      b.node(
        "Conv", [x, "\(name).weight", "\(name).bias"], ["\(name).conv"],
        [
          ("kernel_shape", .ints([3, 3])), ("pads", .ints([1, 1, 1, 1])),
          ("strides", .ints([Int64(stride), Int64(stride)])),
        ])
      b.node("Relu", ["\(name).conv"], ["\(name).relu"])
      x = "\(name).relu"
    }
    b.node("Add", ["d.conv", "d.relu"], ["sum"])
    b.node("GlobalAveragePool", ["sum"], ["gap"])
    b.node("Flatten", ["gap"], ["flat"], [("axis", .int(1))])
    b.initializer("fc.weight", dims: [10, 24], floats: Fixtures.randomPixels(240, seed: 40))
    b.node("Gemm", ["flat", "fc.weight"], ["output"], [("transB", .int(1))])
    return b
  }

  /// A ReLU folded into the convolution before it gives the bits of a separate ReLU step,
  /// logits and input gradient, on every convolution path.
  @Test func foldsReLUsIntoConvolutionsWithTheSameBits() throws {
    let builder = Self.rectifiedConvolutions()
    let folded = try Self.load(builder)
    let unfolded = try Self.load(builder, foldsIntoConvolutions: false)
    #expect(folded.plan.steps.count + 3 == unfolded.plan.steps.count)
    let batch = Self.batch(9, shape: folded.inputShape, seed: 12)
    let logits = try folded.logits(batch)
    #expect(logits.map(\.bitPattern) == (try unfolded.logits(batch)).map(\.bitPattern))
    let labels = (0..<9).map { $0 % 10 }
    let gradient = try folded.lossGradient(batch, labels: labels)
    let expected = try unfolded.lossGradient(batch, labels: labels)
    #expect(gradient.input.map(\.bitPattern) == expected.input.map(\.bitPattern))
    #expect(gradient.input.contains { $0 != 0 })
  }

  /// Convolutions each followed by a 2x2, stride 2 max pooling: a rectified 7-output one on a
  /// 16x16 map and an 8-output one on 8x8 (both direct, so folded), a 20-output one on 4x4
  /// (the product path, not folded) and one whose output also feeds a global average pool (not
  /// folded).
  static func pooledConvolutions() -> ONNXBuilder {
    var b = ONNXBuilder(opset: 13)
    b.input = (3, 16, 16)
    b.storage = .floatData
    let layers = [("a", 3, 7, 3), ("b", 7, 8, 3), ("c", 8, 20, 3), ("d", 20, 6, 1)]
    var x = "input"
    for (index, (name, inputs, outputs, kernel)) in layers.enumerated() {
      b.initializer(
        "\(name).weight", dims: [outputs, inputs, kernel, kernel],
        floats: Fixtures.randomPixels(outputs * inputs * kernel * kernel, seed: UInt64(50 + index))
          .map { ($0 - 0.5) / 3 })
      b.initializer(
        "\(name).bias", dims: [outputs],
        floats: Fixtures.randomPixels(outputs, seed: UInt64(60 + index)).map { $0 - 0.5 })
      let pad = Int64(kernel / 2)
      b.node(
        "Conv", [x, "\(name).weight", "\(name).bias"], ["\(name).conv"],
        [
          ("kernel_shape", .ints([Int64(kernel), Int64(kernel)])),
          ("pads", .ints([pad, pad, pad, pad])),
        ])
      x = "\(name).conv"
      if name == "a" {
        b.node("Relu", [x], ["a.relu"])
        x = "a.relu"
      }
      b.node(
        "MaxPool", [x], ["\(name).pool"],
        [("kernel_shape", .ints([2, 2])), ("strides", .ints([2, 2]))])
      x = "\(name).pool"
    }
    b.node("GlobalAveragePool", ["d.conv"], ["gap"])
    b.node("Add", ["d.pool", "gap"], ["sum"])
    b.node("Flatten", ["sum"], ["flat"], [("axis", .int(1))])
    b.initializer("fc.weight", dims: [10, 6], floats: Fixtures.randomPixels(60, seed: 70))
    b.node("Gemm", ["flat", "fc.weight"], ["output"], [("transB", .int(1))])
    return b
  }

  /// A max pooling folded into the direct convolution before it gives the bits of separate
  /// steps; passes that keep a gradient run the steps unfolded.
  @Test func foldsMaxPoolsIntoConvolutionsWithTheSameBits() throws {
    let builder = Self.pooledConvolutions()
    let folded = try Self.load(builder)
    let unfolded = try Self.load(builder, foldsIntoConvolutions: false)
    #expect(folded.plan.inferenceSteps.count + (GEMM.usesAVX2 ? 2 : 0) == folded.plan.steps.count)
    #expect(unfolded.plan.inferenceSteps.count == unfolded.plan.steps.count)
    let batch = Self.batch(5, shape: folded.inputShape, seed: 13)
    let logits = try folded.logits(batch)
    #expect(logits.map(\.bitPattern) == (try unfolded.logits(batch)).map(\.bitPattern))
    let gradient = try folded.logitsAndInputGradient(batch) { _, logits, gradient in
      for index in gradient.indices { gradient[index] = logits[index] }
    }
    #expect(gradient.logits.map(\.bitPattern) == logits.map(\.bitPattern))
    #expect(gradient.input.contains { $0 != 0 })
  }

  /// A residual graph, the rectified convolutions and the pooled ones: branches read again
  /// later, and products over several images.
  static func graphsWithBranchesAndProducts() throws -> [ONNXBuilder] {
    let weights = Self.residualWeights(zeroBranch: false)
    return [
      ONNXExport.residualCNN(
        try ONNXExport.rgbNetwork(seed: 7), conv2: weights.conv2, bn2: weights.bn2),
      Self.rectifiedConvolutions(), Self.pooledConvolutions(),
    ]
  }

  /// A pass that keeps no gradient gives its slots room that others left (so a chunk's
  /// activations span less than all slots together) and the bits of a pass that keeps every
  /// slot, on graphs with branches that are read again later.
  @Test func sharesRoomBetweenSlotsWithTheSameBits() throws {
    for builder in try Self.graphsWithBranchesAndProducts() {
      let model = try Self.load(builder)
      let plan = model.plan
      #expect(plan.inferenceActivations < plan.chunkSize * plan.slotSizes.reduce(0, +))
      // More images than a chunk, so that a worker's workspace serves several chunks.
      let batch = Self.batch(plan.chunkSize + 3, shape: model.inputShape, seed: 14)
      let logits = try model.logits(batch)
      let kept = try model.logitsAndInputGradient(batch) { _, logits, gradient in
        for index in gradient.indices { gradient[index] = logits[index] }
      }
      #expect(logits.map(\.bitPattern) == kept.logits.map(\.bitPattern))
    }
  }

  /// A pass that keeps no gradient gives every image the same logits whatever its chunk: plans
  /// whose budget fits 1 to 7 images, which split the products on 6x6 and 4x4 maps into the
  /// GEMM's column tiles differently (full tiles and edge ones).
  @Test func inferenceChunksOfAnySizeGiveTheSameBits() throws {
    for builder in try Self.graphsWithBranchesAndProducts() {
      let plan = try Self.load(builder).plan
      let count = 19
      let pixels = Fixtures.randomPixels(count * plan.inputShape.reduce(1, *), seed: 15)
      let expected = plan.run(pixels, count: count, head: nil, threads: 2).logits
      let perImage = plan.slotSizes.reduce(0, +)
      for images in [1, 3, 4, 7] {
        let smaller = ONNXPlan(
          steps: plan.steps, slotSizes: plan.slotSizes, inputSlot: plan.inputSlot,
          outputSlot: plan.outputSlot, inputShape: plan.inputShape, classes: plan.classes,
          budget: perImage * images)
        #expect(smaller.chunkSize == images)
        let logits = smaller.run(pixels, count: count, head: nil, threads: 2).logits
        #expect(logits.map(\.bitPattern) == expected.map(\.bitPattern), "\(images) images")
      }
    }
  }

  @Test func inputGradientOfTheResidualGraphMatchesFiniteDifferences() throws {
    let weights = ONNXModelTests.residualWeights(zeroBranch: false)
    let model = try ONNXModelTests.load(
      ONNXExport.residualCNN(
        try ONNXExport.rgbNetwork(seed: 7), conv2: weights.conv2, bn2: weights.bn2))
    let batch = ONNXModelTests.batch(2, shape: model.inputShape, seed: 10)
    var checker = GradientTests.Checker()
    try checker.checkInputGradient(of: model, batch: batch, labels: [3, 8], samples: 24, seed: 5)
    #expect(checker.checked >= 16)
  }

  @Test func describesTheGraph() throws {
    let model = try ONNXModelTests.load(
      ONNXExport.lenetTorchScript(try ONNXModelTests.lenet.get()))
    let summary = model.summary
    #expect(summary.contains("opset 11"))
    #expect(summary.contains("producer pytorch 1.13.1"))
    #expect(
      summary.contains(
        "Conv 'Conv_0': input.1 [N x 1 x 28 x 28], conv1.weight [6 x 1 x 5 x 5] const"))
    #expect(summary.contains("-> onnx::Gemm_24 [N x 400]"))
    #expect(summary.contains("parameters: 61706"))
    #expect(model.nodes.count == 18)
  }
}
