import BulwarkData
import BulwarkTestSupport
import Testing

@testable import BulwarkModel

@Suite struct OptimizerTests {
  /// fc: 2 inputs -> 1 output; parameters [w0, w1, b] = [1, -2, 0.5].
  static func line() throws -> Network {
    let architecture = Architecture(
      input: ImageShape(height: 1, width: 2, channels: 1), classes: 1,
      layers: [.flatten, .linear("fc", 2, 1)])
    return try Network(
      architecture: architecture, parameters: ["fc.weight": [1, -2], "fc.bias": [0.5]])
  }

  static func gradients(_ values: [Float], for network: Network) -> Gradients {
    Gradients(loss: 0, logits: [], input: [], flatParameters: values, tensors: network.tensors)
  }

  static func expectClose(
    _ network: Network, _ expected: [Double], sourceLocation: SourceLocation = #_sourceLocation
  ) {
    BulwarkTestSupport.expectClose(
      network.parameters.map(Double.init), expected, tolerance: 2e-6,
      sourceLocation: sourceLocation)
  }

  @Test func stepsSGDWithMomentumAndWeightDecayAsPyTorch() throws {
    var network = try Self.line()
    var optimizer = SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
    let g = Self.gradients([0.5, 0.25, -1], for: network)
    // g' = g + 0.01 p = [0.51, 0.23, -0.995]; b = g'; p -= 0.1 b.
    try optimizer.update(&network, with: g)
    Self.expectClose(network, [0.949, -2.023, 0.5995])
    // g' = g + 0.01 p; b = 0.9 b + g' = [0.96849, 0.43677, -1.889505]; p -= 0.1 b.
    try optimizer.update(&network, with: g)
    Self.expectClose(network, [0.852151, -2.066677, 0.7884505])
    #expect(
      optimizer.state.keys.sorted() == ["fc.bias.momentum_buffer", "fc.weight.momentum_buffer"])
  }

  @Test func stepsAdamAsPyTorch() throws {
    var network = try Self.line()
    var optimizer = Adam(learningRate: 0.01)
    // The first step moves each parameter by lr against the gradient's sign.
    try optimizer.update(&network, with: Self.gradients([0.5, 0.25, -1], for: network))
    Self.expectClose(network, [0.99, -2.01, 0.51])
    // Values from PyTorch's formulas evaluated in float64 (NumPy).
    try optimizer.update(&network, with: Self.gradients([-0.5, 0.1, 2], for: network))
    Self.expectClose(network, [0.99052632, -2.01898575, 0.50633896])
    #expect(optimizer.step == 2)
    let state = optimizer.state
    #expect(state["step"] == [2])
    let average = try #require(state["fc.weight.exp_avg"])
    BulwarkTestSupport.expectClose(average, [-0.005, 0.0325] as [Float], tolerance: 1e-7)
    #expect(state["fc.bias.exp_avg_sq"].map { abs($0[0] - 4.999e-3) < 1e-6 } == true)
  }

  @Test(arguments: [false, true])
  func resumesFromSavedState(adam: Bool) throws {
    var network = try Self.line()
    var optimizer: any Optimizer =
      adam ? Adam(learningRate: 0.01) : SGD(learningRate: 0.1, momentum: 0.9)
    try optimizer.update(&network, with: Self.gradients([0.5, 0.25, -1], for: network))
    var resumedNetwork = network
    var resumed: any Optimizer =
      adam ? Adam(learningRate: 0.01) : SGD(learningRate: 0.1, momentum: 0.9)
    try resumed.restore(optimizer.state, for: resumedNetwork)
    let next = Self.gradients([-0.5, 0.1, 2], for: network)
    try optimizer.update(&network, with: next)
    try resumed.update(&resumedNetwork, with: next)
    #expect(resumedNetwork.parameters == network.parameters)
  }

  @Test func rejectsStateThatDoesNotFit() throws {
    let network = try Self.line()
    var optimizer = Adam()
    #expect(throws: ModelError.self) {
      try optimizer.restore(["step": [1], "fc.weight.exp_avg": [0, 0]], for: network)
    }
    var sgd = SGD(learningRate: 0.1, momentum: 0.9)
    #expect(
      throws: ModelError(field: "fc.bias.momentum_buffer", expected: "1 values (1)", found: "2")
    ) {
      try sgd.restore(
        ["fc.weight.momentum_buffer": [0, 0], "fc.bias.momentum_buffer": [0, 0]], for: network)
    }
  }

  @Test func leavesBatchNormRunningStatisticsAlone() throws {
    var network = try Fixtures.network(
      input: ImageShape(height: 2, width: 2, channels: 1), classes: 4,
      layers: [.batchNorm2d("bn", 1), .flatten, .linear("fc", 4, 4)])
    let before = network.parameter(named: "bn.running_var")
    var optimizer = SGD(learningRate: 0.1, weightDecay: 0.5)
    let values = [Float](repeating: 1, count: network.parameterCount)
    try optimizer.update(&network, with: Self.gradients(values, for: network))
    #expect(network.parameter(named: "bn.running_var") == before)
  }
}

@Suite struct TrainerTests {
  @Test func learnsASeparableProblem() throws {
    let data = Fixtures.halves(count: 64, seed: 3)
    var network = try Network(architecture: Fixtures.halvesArchitecture, seed: 4)
    var optimizer = SGD(learningRate: 0.1, momentum: 0.9)
    let trainer = Trainer(batchSize: 16, seed: 5)
    var reports: [EpochReport] = []
    for epoch in 0..<8 {
      reports.append(
        try trainer.runEpoch(epoch, network: &network, optimizer: &optimizer, data: data))
    }
    let test = Fixtures.halves(count: 64, seed: 99)
    let predictions = try network.predictions(test)
    let accuracy = Double(zip(predictions, test.labels).filter { $0 == $1 }.count) / 64
    #expect(accuracy >= 0.95)
    #expect(reports[7].loss < reports[0].loss / 2)
    #expect(reports[7].accuracy >= 0.95)
    #expect(reports[7].imagesPerSecond > 0)
  }

  @Test func trainsIdenticallyOnOneAndTwoThreads() throws {
    let data = Fixtures.halves(count: 80, seed: 3)
    var results: [[Float]] = []
    for threads in [1, 2] {
      var network = try Network(
        architecture: Fixtures.halvesArchitecture, seed: 4,
        options: ComputeOptions(threads: threads))
      var optimizer = Adam(learningRate: 0.01)
      let trainer = Trainer(batchSize: 40, seed: 5)
      for epoch in 0..<2 {
        _ = try trainer.runEpoch(epoch, network: &network, optimizer: &optimizer, data: data)
      }
      results.append(network.parameters)
    }
    #expect(results[0].map(\.bitPattern) == results[1].map(\.bitPattern))
  }

  @Test func shufflesReproduciblyPerEpoch() {
    let trainer = Trainer(batchSize: 4, seed: 9)
    #expect(trainer.order(epoch: 1, count: 50) == trainer.order(epoch: 1, count: 50))
    #expect(trainer.order(epoch: 1, count: 50) != trainer.order(epoch: 2, count: 50))
    #expect(trainer.order(epoch: 1, count: 50).sorted() == Array(0..<50))
  }
}
