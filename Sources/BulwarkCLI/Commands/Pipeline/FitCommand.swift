import BulwarkData
import BulwarkPipeline
import Foundation

/// `bulwark fit FILE`: fits a pipeline's distribution classifier on the data its `fit` key
/// names and saves it beside the pipeline.
struct FitCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "fit",
    abstract: "Fit a pipeline's distribution classifier and save its model.",
    discussion: """
      Loads the stage's fit data (fit.clean and fit.adversarial; an attack runs on fit.clean \
      and is cached in .bulwark-cache), runs the preprocessors and the classifier on every \
      image (passes times for distribution features), fits the trees, and writes the model \
      (LightGBM model.txt, default <pipeline>.distribution-classifier.txt beside the file) and \
      a fit record <model>.fit.json: sources, counts, parameters and a fingerprint of every \
      image, so that 'bulwark score' refuses to evaluate on them.
      """,
    arguments: PipelineRunArguments.definitions(
      limitHelp: "Fit on the first N images of each set only."))

  var options: PipelineRunArguments

  init(arguments: ParsedArguments) throws(UsageError) {
    options = try PipelineRunArguments(arguments: arguments)
  }

  /// The outcome, as `--json` prints it.
  struct Report: Encodable {
    var model: String
    var record: String
    var cleanImages: Int
    var adversarialImages: Int
    var adversarialFromCache: Bool?
    var features: String
    var passes: Int
    var trainingAccuracy: Double
    var seconds: Double
  }

  func run(console: Console) throws {
    let description = try options.loadDescription()
    var pipeline = try Pipeline(description)
    let data = try description.loadFitData(for: pipeline, limit: options.limit) { done, total in
      console.progress("attack: \(done)/\(total) images")
    }
    console.endProgress()
    var images = data.clean
    images.pixels += data.adversarial.pixels
    images.labels += data.adversarial.labels
    let clock = ContinuousClock()
    let start = clock.now
    let accuracy = try pipeline.fitPostprocessor(on: images) { done, total in
      console.progress("passes: \(done)/\(total) images")
    }
    console.endProgress()
    let (whole, fraction) = (clock.now - start).components
    let seconds = Double(whole) + Double(fraction) * 1e-18
    let record = try description.saveFit(
      of: pipeline, data: data, trainingAccuracy: accuracy, seconds: seconds)
    guard let fitting = description.fitting else { return }
    let report = Report(
      model: fitting.model.path, record: fitting.record.path, cleanImages: record.cleanCount,
      adversarialImages: record.adversarialCount, adversarialFromCache: data.fromCache,
      features: record.features, passes: record.passes, trainingAccuracy: accuracy,
      seconds: seconds)
    if options.json {
      try console.printJSON(report)
      return
    }
    console.print(
      "Fitted \(record.stage) (\(record.features) features, \(record.passes) "
        + "pass\(record.passes == 1 ? "" : "es") per image) on \(record.cleanCount) clean + "
        + "\(record.adversarialCount) adversarial images in \(format(seconds, digits: 2)) s")
    console.print("Training accuracy: \(format(accuracy, digits: 4))")
    console.print("Wrote \(fitting.model.path)")
    console.print("Wrote \(fitting.record.path)")
  }
}
