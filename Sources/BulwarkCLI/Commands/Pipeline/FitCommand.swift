import BulwarkData
import BulwarkPipeline
import Foundation

/// `bulwark fit FILE`: fits a pipeline's fitted stages (the distribution classifier or any
/// `FittedPostprocessor`, and every detector without a threshold) on the data their `fit` keys
/// name and saves them beside the pipeline.
struct FitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "fit",
    abstract: "Fit a pipeline's fitted postprocessor (such as the distribution classifier) and "
      + "detectors, and save their models.",
    discussion: """
      Loads the stage's fit data (fit.clean and fit.adversarial; an attack runs on fit.clean \
      and is cached in .bulwark-cache), runs the preprocessors and the classifier on every \
      image (once per pass the stage reads), fits the stage, and writes its model (the stage's \
      model key, default <pipeline>.<type>.<extension> beside the file: a LightGBM model.txt \
      for the distribution classifier) and a fit record <model>.fit.json: the stage, the \
      settings the model depends on, sources, counts and a fingerprint of every image, so that \
      'bulwark score' refuses to evaluate on them or with other settings.

      A detector without a threshold scores its fit.clean images and keeps the largest score \
      that leaves at most its fpr share of them above it (default 0.05), written as \
      { "threshold": …, "fpr": … } in its model file (default \
      <pipeline>.<type>.json) with the same fit record. The binary input detector first \
      trains its network on fit.adversarial and all but the last quarter of fit.clean, fits \
      the threshold on that quarter, and saves the network with the threshold \
      (<pipeline>.binary-input-detector.safetensors). Detectors are fitted first, in file \
      order, then the fitted postprocessor.

      --json prints one object per fitted stage; a pipeline with one fitted stage prints that \
      object alone, one with several an array of them in that order.
      """,
    arguments: PipelineRunArguments.definitions)

  var options: PipelineRunArguments

  init(arguments: ParsedArguments) throws(UsageError) {
    options = try PipelineRunArguments(arguments: arguments)
  }

  /// The outcome, as `--json` prints it.
  struct Report: Encodable {
    var path: String
    var model: String
    var record: String
    var stage: String
    var configuration: [String: String]
    var cleanImages: Int
    var adversarialImages: Int
    var adversarialFromCache: Bool?
    var passes: Int
    var trainingAccuracy: Double
    var seconds: Double
    /// A detector's threshold (absent for a postprocessor).
    var threshold: Double?
  }

  func run(console: Console) throws {
    let description = try options.loadDescription()
    let outcomes = try description.fit(limit: options.limit) { phase, done, total in
      console.progress("\(phase.rawValue): \(done)/\(total) images")
    }
    console.endProgress()
    if options.json {
      let reports = outcomes.map { outcome in
        let record = outcome.record
        return Report(
          path: outcome.position.path, model: outcome.model.path,
          record: outcome.recordFile.path, stage: record.stage,
          configuration: record.configuration, cleanImages: record.cleanCount,
          adversarialImages: record.adversarialCount,
          adversarialFromCache: outcome.adversarialFromCache, passes: record.passes,
          trainingAccuracy: record.trainingAccuracy, seconds: record.seconds,
          threshold: outcome.threshold)
      }
      if reports.count == 1 {
        try console.printJSON(reports[0])
      } else {
        try console.printJSON(reports)
      }
      return
    }
    for (index, outcome) in outcomes.enumerated() {
      if index > 0 { console.print() }
      print(outcome, to: console)
    }
  }

  private func print(_ outcome: PipelineDescription.FitOutcome, to console: Console) {
    let record = outcome.record
    let settings = record.configuration.sorted { $0.key < $1.key }
      .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    if let threshold = outcome.threshold {
      let adversarial =
        record.adversarialCount > 0 ? " + \(record.adversarialCount) adversarial" : ""
      console.print(
        "Fitted \(record.stage) (\(outcome.position.path)) on \(record.cleanCount) clean"
          + "\(adversarial) images in \(format(record.seconds, digits: 2)) s")
      if !settings.isEmpty { console.print("Settings: \(settings)") }
      console.print(
        "Threshold: \(format(threshold, digits: 6)); it flags "
          + "\(format(1 - record.trainingAccuracy, digits: 4)) of the clean images it was "
          + "fitted on")
    } else {
      console.print(
        "Fitted \(record.stage) (\(record.passes) pass\(record.passes == 1 ? "" : "es") per "
          + "image) on \(record.cleanCount) clean + \(record.adversarialCount) adversarial "
          + "images in \(format(record.seconds, digits: 2)) s")
      if !settings.isEmpty { console.print("Settings: \(settings)") }
      console.print("Training accuracy: \(format(record.trainingAccuracy, digits: 4))")
    }
    console.print("Wrote \(outcome.model.path)")
    console.print("Wrote \(outcome.recordFile.path)")
  }
}
