import BulwarkData
import BulwarkPipeline
import Foundation

/// `bulwark fit FILE`: fits a pipeline's fitted postprocessor (the distribution classifier, or
/// any `FittedPostprocessor`) on the data its `fit` key names and saves it beside the pipeline.
struct FitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "fit",
    abstract: "Fit a pipeline's fitted postprocessor (such as the distribution classifier) and "
      + "save its model.",
    discussion: """
      Loads the stage's fit data (fit.clean and fit.adversarial; an attack runs on fit.clean \
      and is cached in .bulwark-cache), runs the preprocessors and the classifier on every \
      image (once per pass the stage reads), fits the stage, and writes its model (the stage's \
      model key, default <pipeline>.<type>.<extension> beside the file: a LightGBM model.txt \
      for the distribution classifier) and a fit record <model>.fit.json: the stage, the \
      settings the model depends on, sources, counts and a fingerprint of every image, so that \
      'bulwark score' refuses to evaluate on them or with other settings.
      """,
    arguments: PipelineRunArguments.definitions)

  var options: PipelineRunArguments

  init(arguments: ParsedArguments) throws(UsageError) {
    options = try PipelineRunArguments(arguments: arguments)
  }

  /// The outcome, as `--json` prints it.
  struct Report: Encodable {
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
  }

  func run(console: Console) throws {
    let description = try options.loadDescription()
    let outcome = try description.fit(limit: options.limit) { phase, done, total in
      console.progress("\(phase.rawValue): \(done)/\(total) images")
    }
    console.endProgress()
    let record = outcome.record
    if options.json {
      try console.printJSON(
        Report(
          model: outcome.model.path, record: outcome.recordFile.path, stage: record.stage,
          configuration: record.configuration, cleanImages: record.cleanCount,
          adversarialImages: record.adversarialCount,
          adversarialFromCache: outcome.adversarialFromCache, passes: record.passes,
          trainingAccuracy: record.trainingAccuracy, seconds: record.seconds))
      return
    }
    let settings = record.configuration.sorted { $0.key < $1.key }
      .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    console.print(
      "Fitted \(record.stage) (\(record.passes) pass\(record.passes == 1 ? "" : "es") per "
        + "image) on \(record.cleanCount) clean + \(record.adversarialCount) adversarial images "
        + "in \(format(record.seconds, digits: 2)) s")
    if !settings.isEmpty { console.print("Settings: \(settings)") }
    console.print("Training accuracy: \(format(record.trainingAccuracy, digits: 4))")
    console.print("Wrote \(outcome.model.path)")
    console.print("Wrote \(outcome.recordFile.path)")
  }
}
