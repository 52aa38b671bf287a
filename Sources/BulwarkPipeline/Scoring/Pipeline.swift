import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import Foundation

/// A frozen classifier defended by preprocessors (before it), postprocessors (after its
/// softmax) and detectors (on its input: the pipeline abstains on an image any of them flags),
/// ready to classify and to score.
///
/// A pipeline is itself a `Classifier` (see `Pipeline+Classifier.swift`): its probabilities are
/// the defended outputs, and its input gradient runs back through the postprocessors, the
/// classifier and the preprocessors, so that attacks can target the whole defended pipeline.
public struct Pipeline: Sendable {
  /// The classifier.
  public var classifier: any Classifier
  /// Applied to images in order before the classifier.
  public var preprocessors: [any Preprocessor]
  /// Applied to class probabilities in order after the classifier's softmax.
  public var postprocessors: [any Postprocessor]
  /// Read the images as they reach the pipeline; an image any of them flags gets an all-zero
  /// row (an abstention).
  public var detectors: [any Detector]
  /// The classifier's name in reports.
  public var classifierName: String

  /// Creates a pipeline.
  /// - Parameters:
  ///   - classifier: The frozen classifier.
  ///   - preprocessors: Input defenses, in order.
  ///   - postprocessors: Output defenses, in order.
  ///   - detectors: Detectors; the pipeline abstains on what any of them flags.
  ///   - classifierName: The classifier's name in reports.
  public init(
    classifier: any Classifier, preprocessors: [any Preprocessor] = [],
    postprocessors: [any Postprocessor] = [], detectors: [any Detector] = [],
    classifierName: String = "classifier"
  ) {
    self.classifier = classifier
    self.preprocessors = preprocessors
    self.postprocessors = postprocessors
    self.detectors = detectors
    self.classifierName = classifierName
  }

  /// Loads the classifier a pipeline description names and takes its defenses.
  /// - Parameters:
  ///   - description: A checked pipeline file.
  ///   - options: Compute settings for the classifier.
  /// - Throws: The model format's errors.
  public init(_ description: PipelineDescription, options: ComputeOptions = .init()) throws {
    self.init(
      classifier: try loadClassifier(contentsOf: description.model, options: options),
      preprocessors: description.preprocessors, postprocessors: description.postprocessors,
      detectors: description.detectors, classifierName: description.model.lastPathComponent)
  }

  /// The name of a stage in reports: its registered type name, else its Swift type.
  static func name(of stage: Any) -> String {
    (type(of: stage) as? any RegisteredDefense.Type)?.typeName
      ?? String(describing: type(of: stage))
  }

  /// The preprocessors as one chain.
  var preprocessing: PreprocessorChain { PreprocessorChain(preprocessors) }

  /// The defended class probabilities of every image (an all-zero row is an abstention).
  /// - Parameter batch: Images of the classifier's input shape.
  /// - Returns: One row per image.
  /// - Throws: Errors from the stages or the classifier.
  public func defendedProbabilities(_ batch: ImageBatch) throws -> Probabilities {
    var timings = [Double](repeating: 0, count: stageCount)
    return try run(batch, timings: &timings).defended
  }

  /// Every stage with a timing: the preprocessors, the classifier, the postprocessors and the
  /// detectors, in that order.
  var stageCount: Int { preprocessors.count + 1 + postprocessors.count + detectors.count }

  /// Runs every stage on a batch, adding each stage's seconds to `timings`. With a fitted
  /// postprocessor, the preprocessors, the classifier and the postprocessors before it run
  /// `passesPerImage` times (pass `k` with `reseeded(pass: k)`, pass 0 as configured); it
  /// combines the passes and the postprocessors after it see its output. The detectors read
  /// the batch as it is; the rows of the images any of them flags are zeroed.
  func run(_ batch: ImageBatch, timings: inout [Double]) throws -> (
    defended: Probabilities, afterClassifier: [Float], flags: [[Bool]]
  ) {
    let clock = ContinuousClock()
    var flags: [[Bool]] = []
    for (index, detector) in detectors.enumerated() {
      let start = clock.now
      flags.append(try detector.flags(batch, classify: classifier.probabilities))
      timings[preprocessors.count + 1 + postprocessors.count + index] +=
        (clock.now - start).inSeconds
    }
    let flagged = Self.union(flags, count: batch.count)
    let (defended, afterClassifier) = try runStages(batch, timings: &timings)
    return (defended.abstaining(on: flagged), afterClassifier, flags)
  }

  /// `run(_:timings:)` without the detectors.
  private func runStages(_ batch: ImageBatch, timings: inout [Double]) throws -> (
    defended: Probabilities, afterClassifier: [Float]
  ) {
    let fitted = fittedPostprocessor
    let end = fitted?.index ?? postprocessors.count
    var passes: [Probabilities] = []
    var afterClassifier: [Float] = []
    for pass in 0..<(fitted?.stage.passesPerImage ?? 1) {
      let result = try runPass(pass, batch, through: end, timings: &timings)
      if pass == 0 { afterClassifier = result.afterClassifier }
      passes.append(result.probabilities)
    }
    guard let fitted else { return (passes[0], afterClassifier) }
    let clock = ContinuousClock()
    let start = clock.now
    let combined = try fitted.stage.process(passes: passes)
    timings[preprocessors.count + 1 + fitted.index] += (clock.now - start).inSeconds
    let defended = try applyPostprocessors(
      (fitted.index + 1)..<postprocessors.count, to: combined, timings: &timings)
    return (defended, afterClassifier)
  }

  /// One classifier pass: the preprocessors reseeded for `pass`, the classifier, and the
  /// postprocessors before index `end`.
  func runPass(_ pass: Int, _ batch: ImageBatch, through end: Int, timings: inout [Double])
    throws -> (probabilities: Probabilities, afterClassifier: [Float])
  {
    let images = try preprocessing.forPass(pass).process(batch) { index, time in
      timings[index] += time.inSeconds
    }
    let clock = ContinuousClock()
    let start = clock.now
    let raw = try classifier.probabilities(images)
    timings[preprocessors.count] += (clock.now - start).inSeconds
    let table = Probabilities(rows: batch.count, columns: classifier.classCount, values: raw)
    return (try applyPostprocessors(0..<end, to: table, timings: &timings), raw)
  }

  /// Applies the postprocessors at `indices`, in order, adding their seconds to `timings`.
  private func applyPostprocessors(
    _ indices: Range<Int>, to table: Probabilities, timings: inout [Double]
  ) throws -> Probabilities {
    let clock = ContinuousClock()
    var probabilities = table
    for index in indices {
      let start = clock.now
      probabilities = try postprocessors[index].process(probabilities)
      timings[preprocessors.count + 1 + index] += (clock.now - start).inSeconds
    }
    return probabilities
  }

  /// Checks that a set fits the classifier before any long work: its image shape, its labels
  /// and that no value is NaN.
  /// - Parameters:
  ///   - batch: The set.
  ///   - name: The set's name in errors (`data.clean`).
  ///   - file: The pipeline file errors name.
  /// - Throws: `PipelineError` naming the set, what was expected and what was found.
  public func check(_ batch: ImageBatch, name: String, file: String) throws(PipelineError) {
    guard batch.shape == classifier.inputShape else {
      throw PipelineError(
        file: file, path: name,
        message: "images are \(batch.shape) but the classifier takes \(classifier.inputShape) "
          + "(height x width x channels)")
    }
    if let label = batch.labels.first(where: { $0 < 0 || $0 >= classifier.classCount }) {
      throw PipelineError(
        file: file, path: name,
        message: "label \(label) is outside the classifier's \(classifier.classCount) classes")
    }
    if let index = batch.pixels.firstIndex(where: { $0.isNaN }) {
      throw PipelineError(
        file: file, path: name,
        message: "image \(index / max(batch.shape.valueCount, 1)) holds NaN values")
    }
  }

  /// Scores the defended pipeline and the undefended classifier on a clean and an adversarial
  /// set (they need not be the same size or paired), in batches so that memory stays bounded.
  /// - Parameters:
  ///   - clean: The clean labelled images.
  ///   - adversarial: The adversarial labelled images.
  ///   - batchSize: Images per batch (default 1,000).
  ///   - progress: Called before each batch with the set's name, images done and total.
  /// - Returns: Accuracies with their intervals, abstentions, MindSpore Armour's metrics and
  ///   per-stage timings.
  /// - Throws: Errors from the stages or the classifier.
  public func score(
    clean: ImageBatch, adversarial: ImageBatch, batchSize: Int = 1_000,
    progress: (String, Int, Int) -> Void = { _, _, _ in }
  ) throws -> PipelineScore {
    try score(
      PipelineDescription.Data(clean: clean, adversarial: adversarial), batchSize: batchSize,
      progress: progress)
  }

  /// Scores the defended pipeline and the undefended classifier on the clean set and every
  /// adversarial set, in batches so that memory stays bounded. With several adversarial sets
  /// of the same images (sets made from one clean set, or read with the same labels), an image
  /// counts as robust only if the pipeline classifies it correctly in every set: the worst
  /// case over the images every set covers, which is then the headline adversarial score.
  /// - Parameters:
  ///   - data: The clean set and the adversarial sets.
  ///   - batchSize: Images per batch (default 1,000).
  ///   - bootstrapSeed: The seed of the harmonic mean's bootstrap interval (default 0).
  ///   - progress: Called before each batch with the set's name, images done and total.
  /// - Returns: Every set's score with its Wilson interval, the worst case, the headline
  ///   harmonic mean with its bootstrap interval, and per-stage timings.
  /// - Throws: Errors from the stages or the classifier.
  public func score(
    _ data: PipelineDescription.Data, batchSize: Int = 1_000, bootstrapSeed: UInt64 = 0,
    progress: (String, Int, Int) -> Void = { _, _, _ in }
  ) throws -> PipelineScore {
    precondition(batchSize >= 1, "batch size must be positive")
    var timings = [Double](repeating: 0, count: stageCount)
    let sets = [("clean", data.clean)] + data.adversarialSets.map { ($0.name, $0.images) }
    var tallies: [SetTally] = []
    // Per detector, what it flags of each set.
    var flagged = [[FlaggedShare]](repeating: [], count: detectors.count)
    for (name, set) in sets {
      var tally = SetTally()
      var flags = [[Bool]](repeating: [], count: detectors.count)
      for first in stride(from: 0, to: set.count, by: batchSize) {
        progress(name, first, set.count)
        let part = set.selecting(first..<min(first + batchSize, set.count))
        let (defended, afterClassifier, partFlags) = try run(part, timings: &timings)
        // Without preprocessors the classifier already saw the raw images.
        let undefended =
          preprocessors.isEmpty ? afterClassifier : try classifier.probabilities(part)
        tally.add(
          defended: defended.values, undefended: undefended, classes: classifier.classCount,
          labels: part.labels)
        for index in flags.indices { flags[index] += partFlags[index] }
      }
      for index in flags.indices {
        flagged[index].append(
          FlaggedShare(
            set: name, flags: flags[index], undefendedCorrect: tally.undefendedCorrectImages))
      }
      tallies.append(tally)
    }
    let images = Double(max(sets.reduce(0) { $0 + $1.1.count }, 1))
    var stages: [StageTiming] = []
    for (index, stage) in preprocessors.enumerated() {
      stages.append(
        StageTiming(
          kind: "preprocessor", name: Self.name(of: stage),
          secondsPerImage: timings[index] / images))
    }
    stages.append(
      StageTiming(
        kind: "classifier", name: classifierName,
        secondsPerImage: timings[preprocessors.count] / images))
    for (index, stage) in postprocessors.enumerated() {
      stages.append(
        StageTiming(
          kind: "postprocessor", name: Self.name(of: stage),
          secondsPerImage: timings[preprocessors.count + 1 + index] / images))
    }
    for (index, detector) in detectors.enumerated() {
      stages.append(
        StageTiming(
          kind: "detector", name: Self.name(of: detector),
          secondsPerImage: timings[preprocessors.count + 1 + postprocessors.count + index]
            / images))
    }
    let adversarialTallies = Array(tallies.dropFirst())
    // Sets an attack made from the clean set are paired image by image (over the images they
    // all cover, when one was limited); sets read from sources only when they hold the same
    // labels in the same order.
    let paired =
      data.adversarialSets.allSatisfy(\.isPaired)
      || data.adversarialSets.allSatisfy { $0.images.labels == data.adversarial.labels }
    let worst =
      adversarialTallies.count > 1 && paired ? SetTally.worstCase(adversarialTallies) : nil
    let headline =
      worst ?? adversarialTallies.min { $0.score.accuracy < $1.score.accuracy }
      ?? adversarialTallies[0]
    return PipelineScore(
      clean: tallies[0].score,
      adversarialSets: zip(data.adversarialSets, adversarialTallies).map { set, tally in
        AdversarialSetScore(name: set.name, attacker: set.attacker, score: tally.score)
      },
      worstCase: worst?.score,
      harmonicMeanInterval: ConfidenceInterval.bootstrapHarmonicMean(
        clean: tallies[0].correctImages, adversarial: headline.correctImages,
        seed: bootstrapSeed),
      stages: stages,
      detectors: zip(detectors, flagged).map { detector, shares in
        DetectorScore(
          name: Self.name(of: detector), threshold: detector.threshold ?? .infinity,
          targetFalsePositiveRate: detector.falsePositiveRate, clean: shares[0],
          adversarialSets: Array(shares.dropFirst()))
      })
  }
}
