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

  /// Reads a fitted postprocessor's `model` and `fit` keys and loads its saved model when the
  /// file exists.
  static func fitSettings(
    _ decoder: JSONValueDecoder, index: Int, stage: inout any FittedPostprocessor, file: URL,
    folder: URL
  ) throws(PipelineError) -> FitSettings {
    do {
      var settings = FitSettings(
        stage: index, model: FitSettings.defaultModel(for: file, stage: stage))
      if let model = decoder.member("model") {
        settings.model = resolve(try model.decode(String.self), against: folder)
      }
      if let fit = decoder.member("fit") {
        guard case .object = fit.value else {
          throw fit.mismatch("{ clean: SOURCE, adversarial: SOURCE or { attack: … }, limit: N }")
        }
        fit.usage.record("", at: render(fit.codingPath))
        if let clean = fit.member("clean") {
          settings.clean = try dataSource(clean, folder: folder)
        }
        if let adversarial = fit.member("adversarial") {
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

  /// The rules for fitted postprocessors: at most one per pipeline, and several passes per
  /// image need a randomised preprocessor (otherwise every pass is the same).
  static func fittingProblems(
    preprocessors: [any Preprocessor], postprocessors: [any Postprocessor], file: String
  ) -> [PipelineError] {
    var problems: [PipelineError] = []
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

  /// Checks that every postprocessor that must be fitted is, before any long work.
  /// - Throws: `PipelineError` naming the stage, with the remedy `fit`.
  public func requireFitted() throws(PipelineError) {
    for (index, stage) in postprocessors.enumerated() {
      guard let fitted = stage as? any FittedPostprocessor, !fitted.isFitted else { continue }
      let model = fitting.map { " (no model at \($0.model.path))" } ?? ""
      throw PipelineError(
        file: file.path, path: "postprocessors[\(index)]",
        message: "\(Pipeline.name(of: stage)) is not fitted\(model)",
        remedy: .fit(pipeline: file.path))
    }
  }

  /// The pipeline's fitted postprocessor when it is fitted (has a model), with its settings.
  var fittedStage: (stage: any FittedPostprocessor, settings: FitSettings)? {
    guard let fitting, let stage = postprocessors[fitting.stage] as? any FittedPostprocessor,
      stage.isFitted
    else { return nil }
    return (stage, fitting)
  }

  /// What `fit(limit:progress:)` did.
  public struct FitOutcome: Sendable {
    /// The record written beside the model.
    public var record: FitRecord
    /// The model file written.
    public var model: URL
    /// The record file written.
    public var recordFile: URL
    /// Whether the adversarial fit images came from the attack cache (nil: not an attack).
    public var adversarialFromCache: Bool?
  }

  /// What `fit(limit:progress:)` is doing when it reports progress.
  public enum FitPhase: String, Sendable {
    /// Generating the adversarial fit images with the fit's attack.
    case attack
    /// Running the fit images through the stages before the fitted postprocessor.
    case passes
  }

  /// Fits the pipeline's fitted postprocessor on the data its `fit` key names (both sets
  /// together), then writes its model and fit record beside the pipeline (see `saveFit`).
  /// - Parameters:
  ///   - limit: Learn from the first N images of each set (overrides `fit.limit`).
  ///   - progress: Called with the phase, the images done and the total.
  /// - Returns: The record and where it and the model were written.
  /// - Throws: `PipelineError` without a fitted postprocessor or fit data; errors from the
  ///   data, the stages, fitting and writing.
  public func fit(
    limit: Int? = nil, progress: (FitPhase, Int, Int) -> Void = { _, _, _ in }
  ) throws -> FitOutcome {
    var pipeline = try Pipeline(self)
    // The fitted model and its record are written after the work: check their folder first.
    if let fitting { try FileAccess.checkFolderWritable(fitting.model.deletingLastPathComponent()) }
    let data = try loadFitData(for: pipeline, limit: limit) { progress(.attack, $0, $1) }
    var images = data.clean
    images.pixels += data.adversarial.pixels
    images.labels += data.adversarial.labels
    let clock = ContinuousClock()
    let start = clock.now
    let accuracy = try pipeline.fitPostprocessor(on: images) { progress(.passes, $0, $1) }
    let record = try saveFit(
      of: pipeline, data: data, trainingAccuracy: accuracy, seconds: (clock.now - start).inSeconds)
    guard let fitting else {
      throw PipelineError(file: file.path, path: "postprocessors", message: "nothing to fit")
    }
    return FitOutcome(
      record: record, model: fitting.model, recordFile: fitting.record,
      adversarialFromCache: data.fromCache)
  }

  /// Loads the images the fitted postprocessor learns from: the fit's clean set, then its
  /// adversarial set (from its source, the attack cache, or by running the attack on the clean
  /// set), each cut to the limit and checked against the classifier.
  /// - Parameters:
  ///   - pipeline: The pipeline built from this description.
  ///   - limit: Learn from the first N images of each set (overrides `fit.limit`).
  ///   - progress: Called with (images done, total) while an attack runs.
  /// - Returns: Both sets; a set the pipeline does not name is empty.
  /// - Throws: `PipelineError` when there is no fitted postprocessor or no fit data, or for
  ///   sets that do not fit the classifier; data and attack errors.
  public func loadFitData(
    for pipeline: Pipeline, limit: Int? = nil, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> FitData {
    let name = file.path
    guard let fitting else {
      throw PipelineError(
        file: name, path: "postprocessors",
        message: "has no fitted postprocessor (such as distribution-classifier)")
    }
    let path = "postprocessors[\(fitting.stage)].fit"
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
      if let limit { clean = clean.prefix(min(limit, clean.count)) }
      try pipeline.check(clean, name: "\(path).clean (\(source.description))", file: name)
    }
    var adversarial = empty
    var fromCache: Bool?
    switch fitting.adversarial {
    case .none:
      break
    case .data(let source):
      adversarial = try source.load()
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
    if let limit { adversarial = adversarial.prefix(min(limit, adversarial.count)) }
    try pipeline.check(adversarial, name: "\(path).adversarial", file: name)
    return FitData(clean: clean, adversarial: adversarial, fromCache: fromCache)
  }

  /// Writes the fitted postprocessor's model (atomically) and its fit record beside it.
  /// - Parameters:
  ///   - pipeline: The pipeline whose postprocessor was fitted on `data`.
  ///   - data: The images it was fitted on.
  ///   - trainingAccuracy: The fitted pipeline's accuracy on them.
  ///   - seconds: The time the fit took.
  /// - Returns: The record written.
  /// - Throws: `PipelineError` when the pipeline's fitted stage is not fitted; the stage's and
  ///   file errors.
  @discardableResult
  public func saveFit(
    of pipeline: Pipeline, data: FitData, trainingAccuracy: Double, seconds: Double
  ) throws -> FitRecord {
    guard let fitting,
      let stage = pipeline.postprocessors[fitting.stage] as? any FittedPostprocessor,
      stage.isFitted
    else {
      throw PipelineError(
        file: file.path, path: "postprocessors", message: "no fitted postprocessor to save")
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

  /// The evaluation sets without the images the fitted postprocessor learnt from (by its fit
  /// record's fingerprints, from either fit set), for `data.excludeFitted`; the sets as they
  /// are when no postprocessor is fitted yet.
  /// - Parameter data: The evaluation sets.
  /// - Returns: The sets without the fitted images.
  /// - Throws: A `PipelineError` when the fit record is missing, unreadable or malformed.
  public func removingFitted(from data: Data) throws -> Data {
    guard let fitted = fittedStage else { return data }
    let record = try FitRecord(contentsOf: fitted.settings.record)
    let fitSets = try record.fingerprints(file: fitted.settings.record)
    let excluded = Set(fitSets.clean + fitSets.adversarial)
    return data.removing(fingerprints: excluded)
  }

  /// Refuses to score on images the fitted postprocessor learnt from: fingerprints both
  /// evaluation sets and compares them with its fit record.
  /// - Parameter data: The evaluation sets.
  /// - Throws: `PipelineErrors` naming, for each evaluation set that overlaps, how many of its
  ///   images were fitted on and from which fit set; a `PipelineError` (remedy `refit`) when the
  ///   fit record is missing, or records other settings than the stage's; one naming the record
  ///   when it is unreadable.
  public func checkNotFitted(on data: Data) throws {
    guard let (stage, fitting) = fittedStage else { return }
    let path = "postprocessors[\(fitting.stage)]"
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
    var problems: [PipelineError] = []
    let adversarialSets = data.adversarialSets.enumerated().map { index, set in
      (
        data.adversarialSets.count == 1 ? "data.adversarial" : "data.adversarial[\(index)]",
        set.images
      )
    }
    for (name, set) in [("data.clean", data.clean)] + adversarialSets {
      let prints = set.fingerprints()
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
    if !problems.isEmpty { throw PipelineErrors(problems) }
  }
}
