import BulwarkModel
import BulwarkPipeline
import Foundation

/// `bulwark score FILE`: runs a pipeline on its clean and adversarial sets.
struct ScoreCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "score",
    abstract: "Score a pipeline file on its clean and adversarial sets.",
    discussion: """
      Runs the preprocessors, the classifier and the postprocessors on every image of both \
      sets, and prints the correct counts (Clean, Adv), their accuracies' harmonic mean, the \
      undefended classifier's figures on the same sets, MindSpore Armour's DefenseEvaluate \
      metrics of the defense against it (CAV accuracy change, CRR rectified share, CSR \
      sacrificed share, CCV mean confidence change and COS mean Jensen-Shannon divergence on \
      samples both classify correctly), abstentions (rows a postprocessor zeroed, counted as \
      wrong) and the time per image of each stage. An attack-generated adversarial set is \
      cached in .bulwark-cache beside the file. A distribution classifier must be fitted first \
      ('bulwark fit FILE'); scoring refuses images it was fitted on.
      """,
    arguments: PipelineRunArguments.definitions(
      limitHelp: "Score the first N images of each set only."))

  var options: PipelineRunArguments

  init(arguments: ParsedArguments) throws(UsageError) {
    options = try PipelineRunArguments(arguments: arguments)
  }

  func run(console: Console) throws {
    let description = try options.loadDescription()
    try description.requireFitted()
    let pipeline = try Pipeline(description)
    let data = try description.loadData(for: pipeline, limit: options.limit) { done, total in
      console.progress("attack: \(done)/\(total) images")
    }
    console.endProgress()
    try description.checkNotFitted(on: data)
    let score = try pipeline.score(clean: data.clean, adversarial: data.adversarial) {
      set, done, total in
      console.progress("\(set): \(done)/\(total) images")
    }
    console.endProgress()
    if options.json {
      try console.printJSON(score)
      return
    }
    Self.print(score, to: console)
  }

  static func print(_ score: PipelineScore, to console: Console) {
    let clean = score.clean
    let adversarial = score.adversarial
    console.print("Clean: \(clean.correct) / \(clean.total)")
    console.print("Adv: \(adversarial.correct) / \(adversarial.total)")
    console.print("Harmonic mean: \(format(score.harmonicMean, digits: 4))")
    console.print()
    console.print("Undefended clean: \(clean.undefendedCorrect) / \(clean.total)")
    console.print("Undefended adv: \(adversarial.undefendedCorrect) / \(adversarial.total)")
    console.print("Undefended harmonic mean: \(format(score.undefendedHarmonicMean, digits: 4))")
    console.print("Abstentions: clean \(clean.abstentions), adv \(adversarial.abstentions)")
    console.print()
    console.print("Defense vs undefended   CAV      CRR      CSR      CCV      COS")
    for (name, set) in [("clean", clean), ("adv", adversarial)] {
      let metrics = set.evaluation
      let values = [metrics.cav, metrics.crr, metrics.csr, metrics.ccv, metrics.cos].map {
        value -> String in
        let text = value.map { format($0, digits: 4) } ?? "n/a"
        return text.padding(toLength: 9, withPad: " ", startingAt: 0)
      }
      console.print(
        name.padding(toLength: 24, withPad: " ", startingAt: 0)
          + values.joined().trimmingCharacters(in: .whitespaces))
    }
    console.print()
    console.print("Time per image:")
    for stage in score.stages {
      let label = "  \(stage.kind) \(stage.name)"
      console.print(
        label.padding(toLength: 44, withPad: " ", startingAt: 0)
          + format(stage.secondsPerImage * 1e6, digits: 2) + " us")
    }
  }
}
