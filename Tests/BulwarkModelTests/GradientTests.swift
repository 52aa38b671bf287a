import BulwarkCore
import BulwarkData
import Testing

@testable import BulwarkModel

/// Analytic gradients against central finite differences of `Σ r · logits` (r random), with the
/// sum accumulated in Double. Float32 forward passes with step 5e-3 leave about 1e-5 of noise.
@Suite struct GradientTests {
  struct Case: CustomStringConvertible, Sendable {
    var description: String
    var input: ImageShape
    var classes: Int
    var layers: [Layer]
  }

  static let cases: [Case] = [
    Case(
      description: "conv stride 2 padding 1 groups 2",
      input: ImageShape(height: 5, width: 6, channels: 2), classes: 3,
      layers: [
        .conv2d("conv", 2, 4, kernel: 3, stride: 2, padding: 1, groups: 2), .flatten,
        .linear("fc", 36, 3),
      ]),
    Case(
      description: "conv 2x2 and relu",
      input: ImageShape(height: 4, width: 5, channels: 3), classes: 3,
      layers: [.conv2d("conv", 3, 2, kernel: 2), .relu, .flatten, .linear("fc", 24, 3)]),
    Case(
      description: "max pool 2",
      input: ImageShape(height: 4, width: 6, channels: 2), classes: 2,
      layers: [.maxPool2d(2), .flatten, .linear("fc", 12, 2)]),
    Case(
      description: "max pool 2 on odd sizes (a last row and column in no window)",
      input: ImageShape(height: 5, width: 7, channels: 2), classes: 2,
      layers: [.maxPool2d(2), .flatten, .linear("fc", 12, 2)]),
    Case(
      description: "overlapping max pool 3 stride 2",
      input: ImageShape(height: 5, width: 5, channels: 1), classes: 2,
      layers: [.maxPool2d(3, stride: 2), .flatten, .linear("fc", 4, 2)]),
    Case(
      description: "average pool 3 stride 2",
      input: ImageShape(height: 5, width: 7, channels: 2), classes: 2,
      layers: [.avgPool2d(3, stride: 2), .flatten, .linear("fc", 12, 2)]),
    Case(
      description: "batch norm",
      input: ImageShape(height: 3, width: 4, channels: 2), classes: 2,
      layers: [.batchNorm2d("bn", 2), .flatten, .linear("fc", 24, 2)]),
    Case(
      description: "global average pool",
      input: ImageShape(height: 3, width: 4, channels: 3), classes: 3,
      layers: [.globalAvgPool, .flatten, .linear("fc", 3, 3)]),
    Case(
      description: "linear, relu, dropout, linear",
      input: ImageShape(height: 2, width: 3, channels: 2), classes: 3,
      layers: [
        .flatten, .linear("fc1", 12, 5), .relu, Layer(.dropout(p: 0.5)), .linear("fc2", 5, 3),
      ]),
  ]

  /// `Σ r · logits` in Double.
  static func objective(_ network: Network, _ pixels: [Float], count: Int, _ r: [Float]) throws
    -> Double
  {
    let logits = try network.logits(pixels, count: count)
    var sum = 0.0
    for (value, weight) in zip(logits, r) { sum += Double(value) * Double(weight) }
    return sum
  }

  static func close(_ analytic: Float, _ numeric: Double) -> Bool {
    abs(Double(analytic) - numeric) <= 1e-3 + 1e-2 * abs(numeric)
  }

  /// Compares an analytic derivative with the central difference of `f`. The objectives are
  /// piecewise linear, so the forward and backward one-sided differences agree unless a ReLU or
  /// max-pool kink lies within the step; such coordinates are counted as skipped instead.
  struct Checker {
    var checked = 0
    var skipped = 0
    var largest = 0.0

    mutating func check(
      _ analytic: Float, _ label: String, _ f: (Float) throws -> Double
    ) rethrows {
      let h: Float = 4e-3
      let (up, centre, down) = (try f(h), try f(0), try f(-h))
      let wide = (up - down) / Double(2 * h)
      guard GradientTests.close(Float((up - centre) / Double(h)), (centre - down) / Double(h))
      else {
        skipped += 1
        return
      }
      checked += 1
      largest = max(largest, abs(wide))
      #expect(GradientTests.close(analytic, wide), "\(label): \(analytic) vs \(wide)")
    }

    /// Compares an analytic derivative with the central difference of `f`, for objectives
    /// curved (`exp`, a sigmoid) beyond what ``check(_:_:_:)``'s one-sided agreement allows:
    /// each side's differences at steps `h` and `h / 2`, extrapolated to step 0 (Richardson),
    /// agree to O(h²) unless a kink lies within the step, and such coordinates are counted as
    /// skipped instead.
    mutating func checkCurved(
      _ analytic: Float, _ label: String, _ f: (Float) throws -> Double
    ) rethrows {
      let h: Float = 1e-2
      let centre = try f(0)
      let (up, halfUp, halfDown, down) = (try f(h), try f(h / 2), try f(-h / 2), try f(-h))
      let step = Double(h)
      let forward = 4 * (halfUp - centre) / step - (up - centre) / step
      let backward = 4 * (centre - halfDown) / step - (centre - down) / step
      guard GradientTests.close(Float(forward), backward) else {
        skipped += 1
        return
      }
      let central = (halfUp - halfDown) / step
      checked += 1
      largest = max(largest, abs(central))
      #expect(GradientTests.close(analytic, central), "\(label): \(analytic) vs \(central)")
    }

    /// Checks a classifier's input gradient at `samples` seeded pixels of `batch`.
    mutating func checkInputGradient(
      of classifier: some Classifier, batch: ImageBatch, labels: [Int], samples: Int, seed: UInt64
    ) throws {
      let analytic = try classifier.lossGradient(batch, labels: labels).input
      var generator = SeededGenerator(seed: seed)
      for _ in 0..<samples {
        let index = Int(generator.next() % UInt64(batch.pixels.count))
        try check(analytic[index], "pixel \(index)") { h in
          var pixels = batch.pixels
          pixels[index] += h
          let moved = ImageBatch(shape: batch.shape, pixels: pixels, labels: batch.labels)
          return try classifier.lossGradient(moved, labels: labels).loss
        }
      }
    }
  }

  /// A max-pool window of equal values passes its gradient to its first cell, row by row, as
  /// PyTorch does; the other cells, and those in no window, get none.
  @Test func maxPoolRoutesTiesToTheFirstCell() throws {
    let network = try Fixtures.network(
      input: ImageShape(height: 3, width: 4, channels: 1), classes: 2,
      layers: [.maxPool2d(2), .flatten, .linear("fc", 2, 2)], seed: 11)
    let pixels: [Float] = [0.5, 0.5, 0.2, 0.9, 0.5, 0.5, 0.9, 0.9, 0.7, 0.7, 0.7, 0.7]
    let gradients = try network.backpropagate(pixels, count: 1, logitGradient: [1, -1])
    let routed = gradients.input.indices.filter { gradients.input[$0] != 0 }
    // Window 1 (0.5 everywhere): cell 0. Window 2 (0.2, 0.9 / 0.9, 0.9): cell 3, the first 0.9.
    #expect(routed == [0, 3])
  }

  @Test(arguments: cases)
  func matchesFiniteDifferences(_ testCase: Case) throws {
    var network = try Fixtures.network(
      input: testCase.input, classes: testCase.classes, layers: testCase.layers, seed: 11)
    let count = 2
    let pixels = Fixtures.randomPixels(count * testCase.input.valueCount, seed: 12)
    let r = Fixtures.randomPixels(count * testCase.classes, seed: 13).map { $0 - 0.5 }
    let gradients = try network.backpropagate(pixels, count: count, logitGradient: r)

    var inputs = Checker()
    for index in pixels.indices {
      try inputs.check(gradients.input[index], "input \(index)") { step in
        var moved = pixels
        moved[index] += step
        return try Self.objective(network, moved, count: count, r)
      }
    }
    #expect(inputs.largest > 1e-3, "the input gradient must not vanish")
    #expect(inputs.skipped * 10 <= inputs.checked, "too many kinks: \(inputs.skipped)")

    var weights = Checker()
    for tensor in network.tensors {
      for index in tensor.range {
        let analytic = tensor.isTrainable ? gradients.flatParameters[index] : 0
        if !tensor.isTrainable {
          #expect(analytic == 0, "\(tensor.name) is not trained")
          continue
        }
        let saved = network.parameters[index]
        try weights.check(analytic, "\(tensor.name)[\(index - tensor.offset)]") { step in
          network.parameters[index] = saved + step
          defer { network.parameters[index] = saved }
          return try Self.objective(network, pixels, count: count, r)
        }
      }
    }
    #expect(weights.skipped * 10 <= weights.checked, "too many kinks: \(weights.skipped)")
  }

  @Test func crossEntropyGradientMatchesFiniteDifferences() throws {
    let testCase = Self.cases[0]
    let network = try Fixtures.network(
      input: testCase.input, classes: testCase.classes, layers: testCase.layers, seed: 21)
    let count = 3
    let pixels = Fixtures.randomPixels(count * testCase.input.valueCount, seed: 22)
    let labels = [2, 0, 1]
    let gradients = try network.lossAndGradients(pixels, count: count, labels: labels)
    let logits = try network.logits(pixels, count: count)
    #expect(
      abs(gradients.loss - CrossEntropyLoss.loss(logits: logits, labels: labels, classes: 3))
        < 1e-12)
    let h: Float = 5e-3
    for index in stride(from: 0, to: pixels.count, by: 7) {
      var plus = pixels
      plus[index] += h
      var minus = pixels
      minus[index] -= h
      let up = try network.lossAndGradients(plus, count: count, labels: labels).loss
      let down = try network.lossAndGradients(minus, count: count, labels: labels).loss
      #expect(Self.close(gradients.input[index], (up - down) / Double(2 * h)))
    }
  }

  @Test func computesCrossEntropyStably() {
    // log(1 + e^-1000) ≈ 0 and 1000 + log(1 + e^-1000) ≈ 1000, no overflow.
    let loss = CrossEntropyLoss.loss(logits: [1000, 0, 0, 1000], labels: [0, 0], classes: 2)
    #expect(abs(loss - 500) < 1e-9)
    #expect(
      abs(CrossEntropyLoss.loss(logits: [0, 0], labels: [1], classes: 2) - 0.6931471805599453)
        < 1e-12)
  }

  @Test(arguments: [
    ([Float(0.5), 0.5, 0.5, 0.5], [Float(1), 0, 0, 0]),
    ([0.2, 0.7, 0.7, 0.1], [0, 1, 0, 0]),
    ([0, 0, 0, 0.3], [0, 0, 0, 1]),
  ])
  func routesMaxPoolGradientToTheFirstMaximum(pixels: [Float], expected: [Float]) throws {
    let architecture = Architecture(
      input: ImageShape(height: 2, width: 2, channels: 1), classes: 2,
      layers: [.maxPool2d(2), .flatten, .linear("fc", 1, 2)])
    let network = try Network(
      architecture: architecture, parameters: ["fc.weight": [1, -1], "fc.bias": [0, 0]])
    let gradients = try network.backpropagate(pixels, count: 1, logitGradient: [1, 0])
    #expect(gradients.input == expected)
  }

  @Test func givesReLUNoGradientAtExactlyZero() throws {
    let architecture = Architecture(
      input: ImageShape(height: 1, width: 2, channels: 1), classes: 2,
      layers: [.relu, .flatten, .linear("fc", 2, 2)])
    let network = try Network(
      architecture: architecture, parameters: ["fc.weight": [1, 2, 3, 4], "fc.bias": [0, 0]])
    let gradients = try network.backpropagate([0, 0.5], count: 1, logitGradient: [1, 1])
    #expect(gradients.input == [0, 6])
    #expect(gradients.parameter(named: "fc.weight") == [0, 0.5, 0, 0.5])
    #expect(gradients.parameter(named: "fc.bias") == [1, 1])
  }
}
