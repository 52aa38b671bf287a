import Foundation

extension TuningOutcome {
  /// One outcome from the runs of a search that compares classifiers: every run's results,
  /// their keys led by the classifier's model file name (`lenet5-fashion-adv.safetensors | …`)
  /// and their grid indices offset run after run, ranked together; the winner is the best of
  /// the runs' winners on the full sets (ties: the better rank), with its run's fitted stage
  /// and image counts.
  /// - Parameters:
  ///   - runs: Each classifier's model file and the outcome of its run, in file order.
  ///   - tuner: A tuner of the search space, for the ranking and the full-set objective.
  /// - Returns: The merged outcome.
  /// - Precondition: `runs` is not empty.
  static func merging(_ runs: [(model: URL, outcome: TuningOutcome)], tuner: Tuner)
    -> TuningOutcome
  {
    precondition(!runs.isEmpty, "a search has at least one classifier")
    var results: [TuningResult] = []
    var rescored: [TuningResult] = []
    var winners: [TuningResult] = []
    var statistics = Tuner.Statistics(classifierPasses: 0, imagesClassified: 0, evaluated: 0)
    var offset = 0
    for (model, outcome) in runs {
      let name = model.lastPathComponent
      func tagged(_ result: TuningResult) -> TuningResult {
        var result = result
        result.classifier = name
        result.key = "\(name) | \(result.key)"
        result.index += offset
        return result
      }
      results += outcome.ranked.map(tagged)
      rescored += outcome.rescored.map(tagged)
      winners.append(tagged(outcome.winner))
      offset += (outcome.ranked.map(\.index).max() ?? -1) + 1
      statistics.classifierPasses += outcome.statistics.classifierPasses
      statistics.imagesClassified += outcome.statistics.imagesClassified
      statistics.evaluated += outcome.statistics.evaluated
      statistics.attackedAdaptively += outcome.statistics.attackedAdaptively
    }
    let ranked = tuner.ranked(results)
    let rank = Dictionary(ranked.enumerated().map { ($0.element.key, $0.offset) }) { a, _ in a }
    var best = 0
    for run in winners.indices.dropFirst() {
      let (value, bestValue) = (tuner.fullValue(winners[run]), tuner.fullValue(winners[best]))
      if value > bestValue
        || (value == bestValue
          && rank[winners[run].key, default: .max]
            < rank[winners[best].key, default: .max])
      {
        best = run
      }
    }
    var outcome = runs[best].outcome
    outcome.ranked = ranked
    outcome.rescored = rescored
    outcome.winner = winners[best]
    outcome.winnerModel = runs[best].model
    outcome.statistics = statistics
    return outcome
  }
}
