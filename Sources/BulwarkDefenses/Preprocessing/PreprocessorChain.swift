import BulwarkData
import Foundation

/// Preprocessors applied one after another, itself a preprocessor.
///
/// One loop runs the stages for both directions: the forward pass keeps every stage's own
/// input when a backward pass needs it, and the backward pass runs the stages' backward steps
/// in reverse order, each with its own input (the fix for ART's issue 485, where every stage
/// received the chain's input).
public struct PreprocessorChain: Preprocessor {
  /// The stages, in the order they are applied.
  public var stages: [any Preprocessor]

  /// Creates a chain.
  /// - Parameter stages: The stages, in the order they are applied; empty is the identity.
  public init(_ stages: [any Preprocessor]) {
    self.stages = stages
  }

  /// A forward pass that kept every stage's input, for `backward(gradient:trace:)`.
  public struct Trace: Sendable {
    /// Stage `i`'s input, for every stage; the first is the chain's input.
    public var stageInputs: [ImageBatch]
    /// The last stage's output (the chain's input when it has no stages).
    public var output: ImageBatch
  }

  /// Applies every stage in order.
  /// - Parameter batch: Images, NHWC.
  /// - Returns: The last stage's output.
  /// - Throws: The first error a stage throws.
  public func process(_ batch: ImageBatch) throws -> ImageBatch {
    try run(batch, keepingInputs: false) { _, _ in }.output
  }

  /// Applies every stage in order, reporting how long each took.
  /// - Parameters:
  ///   - batch: Images, NHWC.
  ///   - observe: Called after each stage with its index and the time it took.
  /// - Returns: The last stage's output.
  /// - Throws: The first error a stage throws.
  public func process(
    _ batch: ImageBatch, observe: (_ stage: Int, _ time: Duration) -> Void
  ) throws -> ImageBatch {
    try run(batch, keepingInputs: false, observe: observe).output
  }

  /// Applies every stage in order and keeps every stage's input for a backward pass.
  /// - Parameters:
  ///   - batch: Images, NHWC.
  ///   - observe: Called after each stage with its index and the time it took.
  /// - Returns: Every stage's input and the chain's output.
  /// - Throws: The first error a stage throws.
  public func trace(
    _ batch: ImageBatch, observe: (_ stage: Int, _ time: Duration) -> Void = { _, _ in }
  ) throws -> Trace {
    try run(batch, keepingInputs: true, observe: observe)
  }

  /// The one loop over the stages.
  private func run(
    _ batch: ImageBatch, keepingInputs: Bool, observe: (Int, Duration) -> Void
  ) throws -> Trace {
    let clock = ContinuousClock()
    var inputs: [ImageBatch] = []
    if keepingInputs { inputs.reserveCapacity(stages.count) }
    var current = batch
    for (index, stage) in stages.enumerated() {
      if keepingInputs { inputs.append(current) }
      let start = clock.now
      current = try stage.process(current)
      observe(index, clock.now - start)
    }
    return Trace(stageInputs: inputs, output: current)
  }

  /// True if any stage is randomised.
  public var isRandomized: Bool { stages.contains { $0.isRandomized } }

  /// The sum of the stages' costs.
  public var relativeCost: Double { stages.reduce(0) { $0 + $1.relativeCost } }

  /// The chain with every stage reseeded for pass `pass`.
  /// - Parameter pass: The pass's index, from 0.
  /// - Returns: The reseeded chain.
  public func reseeded(pass: Int) -> any Preprocessor {
    forPass(pass)
  }

  /// The chain as it runs on classifier pass `pass` of a multi-pass feature extraction: pass 0
  /// is the chain as configured, pass `k` has every stage reseeded with `reseeded(pass: k)`.
  /// - Parameter pass: The pass's index, from 0.
  /// - Returns: The chain for that pass.
  public func forPass(_ pass: Int) -> PreprocessorChain {
    pass == 0 ? self : PreprocessorChain(stages.map { $0.reseeded(pass: pass) })
  }

  /// The first external program among the stages, if any (see `PipelineStage`).
  public var externalCommand: [String]? {
    stages.lazy.compactMap(\.externalCommand).first
  }

  /// The chain with every stage's relative paths resolved against `folder`.
  /// - Parameter folder: The pipeline file's folder.
  /// - Returns: The resolved chain.
  public func resolvingRelativePaths(against folder: URL) -> PreprocessorChain {
    PreprocessorChain(stages.map { $0.resolvingRelativePaths(against: folder) })
  }

  /// Runs the stages' backward steps from last to first, each with its own input; recomputes
  /// the forward pass to recover the inputs.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the chain's output.
  ///   - input: The chain's input.
  /// - Returns: The gradient with respect to the chain's input.
  /// - Throws: The first error a stage throws while the forward pass is recomputed.
  public func backward(gradient: [Float], input: ImageBatch) throws -> [Float] {
    try backward(gradient: gradient, trace: trace(input))
  }

  /// Runs the stages' backward steps from last to first, each with its own input as a forward
  /// pass recorded it.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the chain's output.
  ///   - trace: The forward pass, from `trace(_:observe:)`.
  /// - Returns: The gradient with respect to the chain's input.
  /// - Throws: The first error a stage's backward step throws.
  public func backward(gradient: [Float], trace: Trace) throws -> [Float] {
    precondition(trace.stageInputs.count == stages.count, "the trace is of another chain")
    var result = gradient
    for (stage, stageInput) in zip(stages, trace.stageInputs).reversed() {
      result = try stage.backward(gradient: result, input: stageInput)
    }
    return result
  }
}
