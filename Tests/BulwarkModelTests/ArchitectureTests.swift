import BulwarkData
import Foundation
import Testing

@testable import BulwarkModel

@Suite struct ArchitectureTests {
  @Test func encodesLeNetAsStableReadableJSON() throws {
    let json = Architecture.lenet5(classes: 10).jsonString()
    #expect(
      json == #"{"input":{"height":28,"width":28,"channels":1},"classes":10,"layers":["#
        + #"{"type":"conv2d","name":"conv1","in":1,"out":6,"kernel":5,"padding":2},"#
        + #"{"type":"relu"},{"type":"maxPool2d","kernel":2,"stride":2},"#
        + #"{"type":"conv2d","name":"conv2","in":6,"out":16,"kernel":5},{"type":"relu"},"#
        + #"{"type":"maxPool2d","kernel":2,"stride":2},{"type":"flatten"},"#
        + #"{"type":"linear","name":"fc1","in":400,"out":120},{"type":"relu"},"#
        + #"{"type":"linear","name":"fc2","in":120,"out":84},{"type":"relu"},"#
        + #"{"type":"linear","name":"fc3","in":84,"out":10}]}"#)
  }

  @Test(arguments: [Architecture.lenet5(classes: 10), .rgbCNN(classes: 7)])
  func roundTripsThroughJSON(_ architecture: Architecture) throws {
    try architecture.validate()
    #expect(try Architecture(jsonString: architecture.jsonString()) == architecture)
  }

  @Test func readsDefaultsAndEveryLayerType() throws {
    let json = #"""
      {"input":{"height":8,"width":8,"channels":2},"classes":3,"layers":[
      {"type":"conv2d","name":"c","in":2,"out":4,"kernel":3,"stride":1,"padding":1,"groups":2},
      {"type":"batchNorm2d","name":"bn","features":4},{"type":"relu"},{"type":"dropout","p":0.25},
      {"type":"avgPool2d","kernel":2},{"type":"maxPool2d","kernel":2,"stride":1},
      {"type":"globalAvgPool"},{"type":"flatten"},{"type":"linear","name":"fc","in":4,"out":3},
      {"type":"softmax"}]}
      """#
    let architecture = try Architecture(jsonString: json)
    #expect(
      architecture.layers[0].kind
        == .conv2d(
          inChannels: 2, outChannels: 4, kernel: 3, stride: 1, padding: 1, groups: 2))
    #expect(architecture.layers[1].kind == .batchNorm2d(features: 4, epsilon: 1e-5))
    #expect(architecture.layers[4].kind == .avgPool2d(kernel: 2, stride: 2))
    #expect(try Architecture(jsonString: architecture.jsonString()) == architecture)
  }

  @Test func escapesModuleNames() throws {
    let architecture = Architecture(
      input: ImageShape(height: 1, width: 1, channels: 2), classes: 2,
      layers: [.flatten, .linear("head \"1\"\\\n", 2, 2)])
    let json = architecture.jsonString()
    #expect(json.contains(#""name":"head \"1\"\\\n""#))
    #expect(try Architecture(jsonString: json) == architecture)
  }

  @Test func rejectsAnUnknownLayerType() {
    let json =
      #"{"input":{"height":2,"width":2,"channels":1},"classes":2,"layers":[{"type":"lstm"}]}"#
    let error = #expect(throws: ModelError.self) { try Architecture(jsonString: json) }
    #expect(error?.field == "layers[0].type")
    #expect(error?.found == #""lstm""#)
  }

  /// Decoding failures name the key path, what the field needs and what the text holds, never
  /// Foundation's `DecodingError` dump.
  @Test(arguments: [
    (#""layers":[{"type":"conv2d","name":"c","in":1,"kernel":3}]"#, "layers[0].out", "no such key"),
    (
      #""layers":[{"type":"relu"},{"type":"linear","in":"4","out":2}]"#, "layers[1].in",
      #"a string "4""#
    ),
    (
      #""layers":[{"type":"conv2d","name":"c","in":1,"out":1e40,"kernel":3}]"#, "layers[0].out",
      "1e+40"
    ),
    (#""layers":{"type":"relu"}"#, "layers", "an object"),
    (#""layers":[{"type":"linear","name":"f","in":null,"out":2}]"#, "layers[0].in", "null"),
  ])
  func namesTheKeyPathOfAMalformedField(layers: String, field: String, found: String) {
    let json = #"{"input":{"height":2,"width":2,"channels":1},"classes":2,"# + layers + "}"
    let error = #expect(throws: ModelError.self) { try Architecture(jsonString: json) }
    #expect(error?.field == field)
    #expect(error?.found == found)
    #expect(error?.description.contains("DecodingError") == false)
  }

  /// Sizes from a file are checked against stated limits before anything is multiplied or
  /// allocated: 2^40 output channels, a padding of 2^40 and an input of 2^62 pixels were an
  /// abort or an overflow.
  @Test(arguments: [
    (
      ImageShape(height: 28, width: 28, channels: 1),
      [Layer.conv2d("conv1", 1, 1 << 40, kernel: 5)], "layers[0] (conv1)",
      "out, kernel, stride and groups in 1...65536 and padding in 0...65536"
    ),
    (
      ImageShape(height: 28, width: 28, channels: 1),
      [Layer.conv2d("conv1", 1, 6, kernel: 5, padding: 1 << 40)], "layers[0] (conv1)",
      "out, kernel, stride and groups in 1...65536 and padding in 0...65536"
    ),
    (
      ImageShape(height: 1 << 31, width: 1 << 31, channels: 1),
      [Layer.flatten, .linear("fc", 1, 10)], "input", "height, width and channels in 1...65536"
    ),
    (
      ImageShape(height: 65_536, width: 65_536, channels: 1),
      [Layer.flatten, .linear("fc", 1, 10)], "input", "an activation of at most 67108864 values"
    ),
    (
      ImageShape(height: 28, width: 28, channels: 1),
      [Layer.conv2d("conv1", 1, 6, kernel: 5, padding: 65_536)], "layers[0] (conv1)",
      "an activation of at most 67108864 values"
    ),
    (
      ImageShape(height: 256, width: 256, channels: 1),
      [Layer.flatten, .linear("fc", 65_536, 65_536), .linear("fc2", 65_536, 10)],
      "layers[1] (fc)", "a weight tensor of at most 2147483648 values"
    ),
  ])
  func refusesSizesBeyondTheLimits(
    input: ImageShape, layers: [Layer], field: String, expected: String
  ) {
    let architecture = Architecture(input: input, classes: 10, layers: layers)
    let error = #expect(throws: ModelError.self) { try architecture.validate() }
    #expect(error?.field == field)
    #expect(error?.expected == expected)
  }

  @Test(arguments: [
    (
      [Layer.conv2d("conv1", 3, 6, kernel: 5)],
      ModelError(field: "layers[0] (conv1)", expected: "3 input channels", found: "1x28x28 (CxHxW)")
    ),
    (
      [Layer.linear("fc1", 784, 10)],
      ModelError(
        field: "layers[0] (fc1)", expected: "a flat input (add a flatten layer)",
        found: "1x28x28 (CxHxW)")
    ),
    (
      [Layer.flatten, .linear("fc1", 784, 9)],
      ModelError(
        field: "layers", expected: "an output of 10 classes (a flat vector)",
        found: "a vector of 9")
    ),
    (
      [Layer.flatten, Layer(.linear(inFeatures: 784, outFeatures: 10))],
      ModelError(
        field: "layers[1]", expected: "a module name for a layer with parameters", found: "none")
    ),
    (
      [Layer.conv2d("c", 1, 2, kernel: 29)],
      ModelError(
        field: "layers[0] (c)", expected: "a padded input at least 29x29",
        found: "1x28x28 (CxHxW)")
    ),
    (
      [Layer.softmax, .flatten, .linear("fc", 784, 10)],
      ModelError(
        field: "layers[0]", expected: "softmax only as the last layer", found: "2 after it")
    ),
  ])
  func namesTheLayerThatDoesNotChain(layers: [Layer], error: ModelError) {
    let architecture = Architecture(
      input: ImageShape(height: 28, width: 28, channels: 1), classes: 10, layers: layers)
    #expect(throws: error) { try architecture.validate() }
  }

  @Test func listsLeNetTensorsInStateDictOrder() throws {
    let network = try Network(architecture: .lenet5(classes: 10), seed: 0)
    let shapes = network.parameterShapes
    #expect(
      shapes.map(\.name) == [
        "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias",
        "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias",
      ])
    #expect(
      shapes.map(\.shape) == [
        [6, 1, 5, 5], [6], [16, 6, 5, 5], [16], [120, 400], [120],
        [84, 120], [84], [10, 84], [10],
      ])
    #expect(network.parameterCount == 61_706)
    #expect(try Network(architecture: .rgbCNN(classes: 10), seed: 0).parameterCount == 95_434)
  }
}
