import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import Foundation

extension PipelineDescription {
  /// The images a fitted postprocessor learns from, loaded and checked against the classifier.
  public struct FitData: Sendable {
    /// The clean images (empty when the pipeline names none).
    public var clean: ImageBatch
    /// The adversarial images (empty when the pipeline names none).
    public var adversarial: ImageBatch
    /// Whether the adversarial images came from the attack cache (nil: not an attack).
    public var fromCache: Bool?
  }

  /// Reads a fitted stage's `model` and `fit` keys and loads its saved model when the file
  /// exists.
  static func fitSettings(
    _ decoder: JSONValueDecoder, position: StagePosition, stage: inout some FittedStage,
    acceptsAdversarial: Bool, file: URL, folder: URL
  ) throws(PipelineError) -> FitSettings {
    do {
      var settings = FitSettings(
        position: position, model: FitSettings.defaultModel(for: file, stage: stage))
      if let model = decoder.member("model") {
        settings.model = resolve(try model.decode(String.self), against: folder)
      }
      if let fit = decoder.member("fit") {
        guard case .object = fit.value else {
          throw fit.mismatch(
            "{ clean: SOURCE, adversarial: SOURCE or { attack: … }, start: N, limit: N }")
        }
        fit.usage.record("", at: render(fit.codingPath))
        if let clean = fit.member("clean") {
          settings.clean = try dataSource(clean, folder: folder)
        }
        if let adversarial = fit.member("adversarial") {
          guard acceptsAdversarial else {
            throw adversarial.error(
              "this detector fits its threshold on clean images only; remove fit.adversarial")
          }
          settings.adversarial = try adversarialSource(adversarial, folder: folder)
          if case .attack(let attack) = settings.adversarial {
            if settings.clean == nil {
              throw adversarial.error("an attack runs on fit.clean, which is missing")
            }
            if attack.against == .pipeline {
              throw adversarial.error(
                "the fit's attack cannot target the pipeline it fits; use against: \"classifier\"")
            }
          }
        }
        if let limit = fit.member("limit") {
          let value = try limit.decode(Int.self)
          guard value >= 1 else { throw limit.error("must be an integer >= 1, got \(value)") }
          settings.limit = value
        }
        if let start = fit.member("start") {
          let value = try start.decode(Int.self)
          guard value >= 0 else { throw start.error("must be an integer >= 0, got \(value)") }
          // The attack cache knows a set by its source and count, not by where it starts.
          if case .attack = settings.adversarial {
            throw start.error("cannot skip images of a set an attack makes; remove start")
          }
          settings.start = value
        }
      }
      if FileManager.default.fileExists(atPath: settings.model.path) {
        do {
          try stage.loadModel(contentsOf: settings.model)
        } catch {
          throw decoder.error(
            "cannot load the fitted model \(settings.model.path): \(error)",
            at: decoder.codingPath + [PathKey(stringValue: "model")])
        }
      }
      return settings
    } catch let error as PipelineError {
      throw error
    } catch {
      throw DefenseRegistry.describe(error, in: decoder)
    }
  }

  /// The rules for fitted stages: at most one fitted postprocessor per pipeline, several
  /// passes per image need a randomised preprocessor (otherwise every pass is the same), and
  /// no two stages write the same model file.
  static func fittingProblems(
    preprocessors: [any Preprocessor], postprocessors: [any Postprocessor],
    fittings: [FitSettings], file: String
  ) -> [PipelineError] {
    var problems: [PipelineError] = []
    // Two fitted postprocessors are refused below.
    for (index, fitting) in fittings.enumerated() {
      guard
        let first = fittings[..<index].first(where: {
          $0.model == fitting.model && ($0.position.isDetector || fitting.position.isDetector)
        })
      else { continue }
      problems.append(
        PipelineError(
          file: file, path: "\(fitting.position.path).model",
          message: "\(first.position.path) keeps its model in \(fitting.model.path) already; "
            + "give one of them another model file"))
    }
    let fitted = postprocessors.indices.filter { postprocessors[$0] is any FittedPostprocessor }
    if fitted.count > 1 {
      problems.append(
        PipelineError(
          file: file, path: "postprocessors[\(fitted[1])]",
          message: "a pipeline holds at most one fitted postprocessor; "
            + "postprocessors[\(fitted[0])] is one already"))
    }
    for index in fitted {
      guard let stage = postprocessors[index] as? any FittedPostprocessor,
        stage.passesPerImage > 1, !preprocessors.contains(where: \.isRandomized)
      else { continue }
      problems.append(
        PipelineError(
          file: file, path: "postprocessors[\(index)]",
          message: "\(stage.passesPerImage) passes per image need a randomised preprocessor "
            + "(such as total-variation-minimization); without one every pass is the same"))
    }
    return problems
  }

  /// Checks that every stage that must be fitted is, before any long work.
  /// - Parameter detectorsOnly: Check only the detectors (the tuner fits the postprocessors
  ///   itself).
  /// - Throws: `PipelineError` naming the stage, with the remedy `fit`.
  public func requireFitted(detectorsOnly: Bool = false) throws(PipelineError) {
    for fitting in fittings where fitting.position.isDetector || !detectorsOnly {
      guard let stage = stage(at: fitting.position), !stage.isFitted else { continue }
      throw PipelineError(
        file: file.path, path: fitting.position.path,
        message: "\(Pipeline.name(of: stage)) is not fitted (no model at \(fitting.model.path))",
        remedy: .fit(pipeline: file.path))
    }
  }

  /// The fitted stage at `position`, or nil when none is there.
  func stage(at position: StagePosition) -> (any FittedStage)? {
    position.stage(postprocessors: postprocessors, detectors: detectors)
  }

  /// The pipeline's fitted stages that are fitted (have a model), with their settings.
  var fittedStages: [(stage: any FittedStage, settings: FitSettings)] {
    fittings.compactMap { settings in
      guard let stage = stage(at: settings.position), stage.isFitted else { return nil }
      return (stage, settings)
    }
  }

  /// What `fit(limit:progress:)` did for one fitted stage.
  public struct FitOutcome: Sendable {
    /// Where the stage is in the pipeline.
    public var position: StagePosition
    /// The record written beside the model.
    public var record: FitRecord
    /// The model file written.
    public var model: URL
    /// The record file written.
    public var recordFile: URL
    /// Whether the adversarial fit images came from the attack cache (nil: not an attack).
    public var adversarialFromCache: Bool?
    /// A detector's fitted threshold (nil for a postprocessor).
    public var threshold: Double?
  }

  /// What `fit(limit:progress:)` is doing when it reports progress.
  public enum FitPhase: String, Sendable {
    /// Generating the adversarial fit images with the fit's attack.
    case attack
    /// Running the fit images through the stages before the fitted postprocessor.
    case passes
    /// Scoring the clean fit images with a detector.
    case scores
  }

  /// Fits every fitted stage on the data its `fit` key names, in file order, and writes each
  /// one's model and fit record beside the pipeline (see `saveFit`): a detector's threshold
  /// on the scores of its clean images (`Detector.fitThreshold(on:)`), the fitted
  /// postprocessor on both its sets together.
  /// - Parameters:
  ///   - limit: Learn from the first N images of each set (overrides `fit.limit`).
  ///   - progress: Called with the phase, the images done and the total.
  /// - Returns: What was fitted, one outcome per fitted stage.
  /// - Throws: `PipelineError` without a stage to fit or fit data; errors from the data, the
  ///   stages, fitting and writing.
  public func fit(
    limit: Int? = nil, progress: (FitPhase, Int, Int) -> Void = { _, _, _ in }
  ) throws -> [FitOutcome] {
    guard !fittings.isEmpty else {
      throw PipelineError(
        file: file.path, path: "",
        message: "has no stage to fit: a fitted postprocessor (such as "
          + "distribution-classifier) or a detector without a threshold")
    }
    var pipeline = try Pipeline(self)
    // The models and their records are written after the work: check their folders first.
    for fitting in fittings {
      try FileAccess.checkFolderWritable(fitting.model.deletingLastPathComponent())
    }
    var outcomes: [FitOutcome] = []
    for fitting in fittings {
      let data = try loadFitData(fitting, for: pipeline, limit: limit) {
        progress(.attack, $0, $1)
      }
      let clock = ContinuousClock()
      let start = clock.now
      let accuracy: Double
      var threshold: Double?
      switch fitting.position {
      case .detector(let index):
        guard data.clean.count > 0 else {
          throw PipelineError(
            file: file.path, path: "\(fitting.position.path).fit",
            message: "names no clean images to fit the threshold on")
        }
        var detector = pipeline.detectors[index]
        if detector.learnsFromAdversarialImages, data.adversarial.count == 0 {
          throw PipelineError(
            file: file.path, path: "\(fitting.position.path).fit",
            message: "names no adversarial images for \(Pipeline.name(of: detector)) to learn "
              + "from; give fit.adversarial (a data source or an attack)")
        }
        let calibration = try detector.learn(
          clean: data.clean, adversarial: data.adversarial,
          classify: pipeline.classifier.probabilities)
        let scores = try pipeline.scores(of: detector, on: calibration) {
          progress(.scores, $0, $1)
        }
        try detector.fitThreshold(on: scores)
        threshold = detector.threshold
        let flagged = scores.count(where: { $0 > detector.threshold ?? .infinity })
        accuracy = 1 - Double(flagged) / Double(scores.count)
        pipeline.detectors[index] = detector
      case .postprocessor:
        var images = data.clean
        images.pixels += data.adversarial.pixels
        images.labels += data.adversarial.labels
        accuracy = try pipeline.fitPostprocessor(on: images) { progress(.passes, $0, $1) }
      }
      let record = try saveFit(
        fitting, of: pipeline, data: data, trainingAccuracy: accuracy,
        seconds: (clock.now - start).inSeconds)
      outcomes.append(
        FitOutcome(
          position: fitting.position, record: record, model: fitting.model,
          recordFile: fitting.record, adversarialFromCache: data.fromCache, threshold: threshold))
    }
    return outcomes
  }

  /// Loads the images a fitted stage learns from: its fit's clean set, then its adversarial
  /// set (from its source, the attack cache, or by running the attack on the clean set), each
  /// cut to its start and limit and checked against the classifier.
  /// - Parameters:
  ///   - fitting: The stage's fit settings (one of `fittings`).
  ///   - pipeline: The pipeline built from this description.
  ///   - limit: Learn from the first N images of each set (overrides `fit.limit`).
  ///   - progress: Called with (images done, total) while an attack runs.
  /// - Returns: Both sets; a set the stage does not name is empty.
  /// - Throws: `PipelineError` when the stage names no fit data, or for sets that do not fit
  ///   the classifier; data and attack errors.
  public func loadFitData(
    _ fitting: FitSettings, for pipeline: Pipeline, limit: Int? = nil,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> FitData {
    let name = file.path
    let path = "\(fitting.position.path).fit"
    guard fitting.clean != nil || fitting.adversarial != nil else {
      throw PipelineError(
        file: name, path: path,
        message: "names no data; give fit: { clean: SOURCE, adversarial: SOURCE or an attack }")
    }
    let limit = limit ?? fitting.limit
    let empty = ImageBatch(
      shape: pipeline.classifier.inputShape, pixels: [], labels: [],
      classNames: (0..<pipeline.classifier.classCount).map { "\($0)" })
    var clean = empty
    if let source = fitting.clean {
      clean = try source.load()
      if let names = try classNames(ofModelAt: model) {
        clean = try clean.aligned(
          toClasses: names, of: "the model \(model.lastPathComponent)",
          as: "\(path).clean (\(source.description))")
      } else if let names = try self.clean.classNames() {
        clean = try clean.aligned(
          toClasses: names, of: "data.clean (\(self.clean.description))",
          as: "\(path).clean (\(source.description))")
      }
      clean = Self.cut(clean, start: fitting.start, limit: limit)
      try pipeline.check(clean, name: "\(path).clean (\(source.description))", file: name)
    }
    var adversarial = empty
    var fromCache: Bool?
    switch fitting.adversarial {
    case .none:
      break
    case .data(let source):
      adversarial = try source.load()
      adversarial = Self.cut(adversarial, start: fitting.start, limit: nil)
      if let cleanSource = fitting.clean {
        adversarial = try adversarial.aligned(
          toClasses: clean.classNames, of: "\(path).clean (\(cleanSource.description))",
          as: "\(path).adversarial (\(source.description))")
      }
    case .attack(var settings):
      guard let source = fitting.clean else { break }
      settings.limit = clean.count
      let cache = AdversarialCache(folder: cacheFolder)
      let result = try cache.adversarialSet(
        model: model, classifier: pipeline.classifier, clean: (source, clean),
        attack: settings, progress: progress)
      adversarial = result.images
      fromCache = result.cached
    }
    adversarial = Self.cut(adversarial, start: nil, limit: limit)
    try pipeline.check(adversarial, name: "\(path).adversarial", file: name)
    return FitData(clean: clean, adversarial: adversarial, fromCache: fromCache)
  }

  /// Images `start ..< start + limit` of a set, within its count.
  static func cut(_ batch: ImageBatch, start: Int?, limit: Int?) -> ImageBatch {
    let first = min(start ?? 0, batch.count)
    let end = limit.map { min(first + $0, batch.count) } ?? batch.count
    return first == 0 && end == batch.count ? batch : batch.selecting(first..<end)
  }

  /// Writes a fitted stage's model (atomically) and its fit record beside it.
  /// - Parameters:
  ///   - fitting: The stage's fit settings (one of `fittings`).
  ///   - pipeline: The pipeline whose stage was fitted on `data`.
  ///   - data: The images it was fitted on.
  ///   - trainingAccuracy: The fitted pipeline's accuracy on them (for a detector, the share
  ///     of the clean images its threshold was fitted on that it lets through).
  ///   - seconds: The time the fit took.
  /// - Returns: The record written.
  /// - Throws: `PipelineError` when the pipeline's stage is not fitted; the stage's and file
  ///   errors.
  @discardableResult
  public func saveFit(
    _ fitting: FitSettings, of pipeline: Pipeline, data: FitData, trainingAccuracy: Double,
    seconds: Double
  ) throws -> FitRecord {
    guard
      let stage = fitting.position.stage(
        postprocessors: pipeline.postprocessors, detectors: pipeline.detectors),
      stage.isFitted
    else {
      throw PipelineError(
        file: file.path, path: fitting.position.path, message: "no fitted stage to save")
    }
    let record = FitRecord(
      stage: stage, cleanSource: fitting.clean?.description,
      adversarialSource: fitting.adversarial.map(Self.describe),
      cleanFingerprints: data.clean.fingerprints(),
      adversarialFingerprints: data.adversarial.fingerprints(),
      trainingAccuracy: trainingAccuracy, seconds: seconds)
    try FileAccess.createFolder(fitting.model.deletingLastPathComponent())
    try stage.saveModel(to: fitting.model)
    try record.write(to: fitting.record)
    return record
  }

  /// A fit set's source, for fit records.
  static func describe(_ source: AdversarialSource) -> String {
    switch source {
    case .data(let data): data.description
    case .attack(let settings): "attack \(settings.identity)"
    }
  }

  /// The evaluation sets without the images any fitted stage learnt from (by the fit records'
  /// fingerprints, from either fit set), for `data.excludeFitted`; the sets as they are when
  /// no stage is fitted yet.
  /// - Parameter data: The evaluation sets.
  /// - Returns: The sets without the fitted images.
  /// - Throws: A `PipelineError` when a fit record is missing, unreadable or malformed.
  public func removingFitted(from data: Data) throws -> Data {
    var excluded = Set<UInt64>()
    for (_, settings) in fittedStages {
      let record = try FitRecord(contentsOf: settings.record)
      let fitSets = try record.fingerprints(file: settings.record)
      excluded.formUnion(fitSets.clean + fitSets.adversarial)
    }
    return excluded.isEmpty ? data : data.removing(fingerprints: excluded)
  }

  /// Refuses to score on images a fitted stage learnt from: fingerprints every evaluation set
  /// and compares them with each fit record.
  /// - Parameter data: The evaluation sets.
  /// - Throws: `PipelineErrors` naming, for each evaluation set that overlaps, how many of its
  ///   images were fitted on, by which stage and from which fit set; a `PipelineError` (remedy
  ///   `refit`) when a fit record is missing, or records other settings than the stage's; one
  ///   naming the record when it is unreadable.
  public func checkNotFitted(on data: Data) throws {
    let adversarialSets = data.adversarialSets.enumerated().map { index, set in
      (
        data.adversarialSets.count == 1 ? "data.adversarial" : "data.adversarial[\(index)]",
        set.images
      )
    }
    let evaluationSets = [("data.clean", data.clean)] + adversarialSets
    let prints = evaluationSets.map { $0.1.fingerprints() }
    var problems: [PipelineError] = []
    for (stage, fitting) in fittedStages {
      let path = fitting.position.path
      guard FileManager.default.fileExists(atPath: fitting.record.path) else {
        throw PipelineError(
          file: file.path, path: path,
          message: "no fit record \(fitting.record.path) beside the model, so the images it was "
            + "fitted on are unknown", remedy: .refit(pipeline: file.path))
      }
      let record = try FitRecord(contentsOf: fitting.record)
      let differences = record.differences(from: stage)
      guard differences.isEmpty else {
        throw PipelineError(
          file: file.path, path: path,
          message: "the model was fitted with other settings: "
            + differences.joined(separator: ", "), remedy: .refit(pipeline: file.path))
      }
      let fitSets = try record.fingerprints(file: fitting.record)
      let cleanSet = Set(fitSets.clean)
      let adversarialSet = Set(fitSets.adversarial)
      for ((name, set), prints) in zip(evaluationSets, prints) {
        let fromClean = prints.count(where: { cleanSet.contains($0) })
        let fromAdversarial = prints.count(where: { adversarialSet.contains($0) })
        let either = prints.count(where: { cleanSet.contains($0) || adversarialSet.contains($0) })
        guard either > 0 else { continue }
        problems.append(
          PipelineError(
            file: file.path, path: name,
            message: "\(either) of \(set.count) images were used to fit the "
              + "\(Pipeline.name(of: stage)) (\(fromClean) from fit.clean, \(fromAdversarial) "
              + "from fit.adversarial); score on images it was not fitted on"))
      }
    }
    if !problems.isEmpty { throw PipelineErrors(problems) }
  }
}
