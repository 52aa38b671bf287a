import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel

/// The classifier's probabilities for one preprocessing of a tuning sample, computed once per
/// pass and reused by every postprocessor configuration that follows that preprocessing.
struct PreprocessingOutputs {
  /// A pass's tables: `[clean, adversarial]` of the evaluation part and of the fit part.
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
  var evaluationImages: Int { sample.clean.count + sample.adversarial.count }

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
    let evaluation = [try run(sample.clean), try run(sample.adversarial)]
    let evaluated = Double(max(evaluationImages, 1))
    if pass == 0 {
      stageSeconds = seconds.map { $0 / evaluated }
      classifierSeconds = classifierTime / evaluated
    }
    let fit = [try run(sample.fitClean), try run(sample.fitAdversarial)]
    let result = Pass(evaluation: evaluation, fit: fit)
    passes += 1
    imagesClassified += evaluationImages + sample.fitClean.count + sample.fitAdversarial.count
    cache[pass] = result
    return result
  }
}
