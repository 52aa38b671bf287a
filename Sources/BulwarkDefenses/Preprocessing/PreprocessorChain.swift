import BulwarkData

/// Preprocessors applied one after another, itself a preprocessor.
///
/// Its backward pass recomputes the forward pass to recover every stage's own input, then runs
/// the stages' backward steps in reverse order, each with its own input (the fix for ART's
/// issue 485, where every stage received the chain's input).
public struct PreprocessorChain: Preprocessor {
  /// The stages, in the order they are applied.
  public var stages: [any Preprocessor]

  /// Creates a chain.
  /// - Parameter stages: The stages, in the order they are applied; empty is the identity.
  public init(_ stages: [any Preprocessor]) {
    self.stages = stages
  }

  /// Applies every stage in order.
  /// - Parameter batch: Images, NHWC.
  /// - Returns: The last stage's output.
  /// - Throws: The first error a stage throws.
  public func process(_ batch: ImageBatch) throws -> ImageBatch {
    var current = batch
    for stage in stages {
      current = try stage.process(current)
    }
    return current
  }

  /// True if any stage is randomised.
  public var isRandomized: Bool { stages.contains { $0.isRandomized } }

  /// The chain with every stage reseeded for pass `pass`.
  /// - Parameter pass: The pass's index, from 0.
  /// - Returns: The reseeded chain.
  public func reseeded(pass: Int) -> any Preprocessor {
    PreprocessorChain(stages.map { $0.reseeded(pass: pass) })
  }

  /// Runs the stages' backward steps from last to first, each with its own input.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the chain's output.
  ///   - input: The chain's input.
  /// - Returns: The gradient with respect to the chain's input.
  /// - Throws: The first error a stage throws while the forward pass is recomputed.
  public func backward(gradient: [Float], input: ImageBatch) throws -> [Float] {
    var inputs = [ImageBatch]()
    inputs.reserveCapacity(stages.count)
    var current = input
    for (index, stage) in stages.enumerated() {
      inputs.append(current)
      if index < stages.count - 1 {
        current = try stage.process(current)
      }
    }
    var result = gradient
    for (stage, stageInput) in zip(stages, inputs).reversed() {
      result = try stage.backward(gradient: result, input: stageInput)
    }
    return result
  }
}
