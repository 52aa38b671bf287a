/// One configuration of a search space: a choice for every preprocessor and postprocessor slot.
public struct TuningCandidate: Sendable {
  /// The preprocessor slots' choices, in order.
  public var preprocessors: [StageChoice]
  /// The postprocessor slots' choices, in order.
  public var postprocessors: [StageChoice]

  /// The preprocessing part of the key: configurations that share it share the classifier's
  /// outputs.
  public var preprocessingKey: String {
    preprocessors.map(\.label).joined(separator: " + ")
  }

  /// A unique, readable name: `spatial-smoothing {window: 3} | high-confidence {cutoff: 0.5}`.
  public var key: String {
    let post = postprocessors.map(\.label).joined(separator: " + ")
    return (preprocessors.isEmpty ? "none" : preprocessingKey) + " | "
      + (postprocessors.isEmpty ? "none" : post)
  }

  /// Every tuned parameter's name (`spatial-smoothing.window`) and value.
  public var tunedValues: [(name: String, value: StageChoice.TunedValue)] {
    (preprocessors + postprocessors).flatMap { choice in
      choice.tuned.map { ("\(choice.type ?? "none").\($0.parameter)", $0) }
    }
  }
}
