import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel

/// The classifier's probabilities for one preprocessing of a tuning sample, computed once per
/// pass and reused by every postprocessor configuration that follows that preprocessing.
struct PreprocessingOutputs {
  /// A pass's tables: the evaluation part's clean set then every adversarial set, and the fit
  /// part's `[clean, adversarial]`.
  struct Pass {
    var evaluation: [Probabilities]
    var fit: [Probabilities]
  }

  /// The preprocessors, in order (pass 0 as configured).
  let stages: [any Preprocessor]
  let classifier: any Classifier
  let sample: TuningSample
  private var cache: [Int: Pass] = [:]
  /// Seconds per image of each preprocessor (pass 0, evaluation part).
  private(set) var stageSeconds: [Double]
  /// Seconds per image of the classifier (pass 0, evaluation part).
  private(set) var classifierSeconds = 0.0
  /// Classifier passes run.
  private(set) var passes = 0
  /// Images classified.
  private(set) var imagesClassified = 0

  init(stages: [any Preprocessor], classifier: any Classifier, sample: TuningSample) {
    self.stages = stages
    self.classifier = classifier
    self.sample = sample
    stageSeconds = stages.map { _ in 0 }
  }

  /// Images of the evaluation part.
  var evaluationImages: Int {
    sample.adversarialSets.reduce(sample.clean.count) { $0 + $1.evaluation.count }
  }

  /// The tables of pass `pass`, computed on first use.
  mutating func probabilities(pass: Int) throws -> Pass {
    if let cached = cache[pass] { return cached }
    let clock = ContinuousClock()
    let chain = stages.map { $0.reseeded(pass: pass) }
    var seconds = stages.map { _ in 0.0 }
    var classifierTime = 0.0
    func run(_ batch: ImageBatch) throws -> Probabilities {
      var images = batch
      for (index, stage) in chain.enumerated() {
        let start = clock.now
        images = try stage.process(images)
        seconds[index] += (clock.now - start).inSeconds
      }
      let start = clock.now
      let values = images.count == 0 ? [] : try classifier.probabilities(images)
      classifierTime += (clock.now - start).inSeconds
      return Probabilities(rows: batch.count, columns: classifier.classCount, values: values)
    }
    let evaluation =
      try [run(sample.clean)] + sample.adversarialSets.map { try run($0.evaluation) }
    let evaluated = Double(max(evaluationImages, 1))
    if pass == 0 {
      stageSeconds = seconds.map { $0 / evaluated }
      classifierSeconds = classifierTime / evaluated
    }
    let fitAdversarial = sample.fitAdversarial
    let fit = [try run(sample.fitClean), try run(fitAdversarial)]
    let result = Pass(evaluation: evaluation, fit: fit)
    passes += 1
    imagesClassified += evaluationImages + sample.fitClean.count + fitAdversarial.count
    cache[pass] = result
    return result
  }
}
