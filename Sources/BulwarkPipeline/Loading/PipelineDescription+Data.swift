import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import Foundation

extension PipelineDescription {
  /// The data a pipeline scores, loaded and checked against its classifier.
  public struct Data: Sendable {
    /// One adversarial set, loaded.
    public struct Adversarial: Sendable {
      /// The set's name (`adversarial` for a single unnamed set).
      public var name: String
      /// Its images.
      public var images: ImageBatch
      /// Whether they came from the attack cache (nil: from a data source).
      public var fromCache: Bool?
      /// Who made them, with the budget (`oblivious pgd (L-inf eps 0.1, 40 steps of 0.01)`), or
      /// the source they were read from.
      public var attacker: String
      /// Whether image `i` is an attack on clean image `i` (true for sets an attack made from
      /// the clean set, false for sets read from a source).
      public var isPaired: Bool

      /// Creates a loaded set.
      /// - Parameters:
      ///   - name: The set's name.
      ///   - images: Its images.
      ///   - fromCache: Whether they came from the attack cache (nil: from a data source).
      ///   - attacker: Who made them, or their source.
      ///   - isPaired: Whether image `i` attacks clean image `i`.
      public init(
        name: String, images: ImageBatch, fromCache: Bool?, attacker: String, isPaired: Bool
      ) {
        self.name = name
        self.images = images
        self.fromCache = fromCache
        self.attacker = attacker
        self.isPaired = isPaired
      }
    }

    /// The clean images.
    public var clean: ImageBatch
    /// The adversarial sets, in file order (at least one).
    public var adversarialSets: [Adversarial]

    /// Creates the data of one adversarial set.
    /// - Parameters:
    ///   - clean: The clean images.
    ///   - adversarial: The adversarial images.
    ///   - fromCache: Whether they came from the attack cache (nil: read from a source; a set
    ///     an attack made is paired with the clean set).
    public init(clean: ImageBatch, adversarial: ImageBatch, fromCache: Bool? = nil) {
      self.clean = clean
      adversarialSets = [
        Adversarial(
          name: AdversarialSet.defaultName, images: adversarial, fromCache: fromCache,
          attacker: "given set", isPaired: fromCache != nil)
      ]
    }

    /// Creates the data of several adversarial sets.
    /// - Parameters:
    ///   - clean: The clean images.
    ///   - adversarialSets: The sets, at least one.
    public init(clean: ImageBatch, adversarialSets: [Adversarial]) {
      precondition(!adversarialSets.isEmpty, "at least one adversarial set")
      self.clean = clean
      self.adversarialSets = adversarialSets
    }

    /// The first adversarial set's images (the only set of most pipelines).
    public var adversarial: ImageBatch {
      get { adversarialSets[0].images }
      set { adversarialSets[0].images = newValue }
    }

    /// Whether the first adversarial set came from the attack cache (nil: from a data source).
    public var fromCache: Bool? { adversarialSets[0].fromCache }

    /// The sets without the images a fitted postprocessor learnt from: the clean images whose
    /// fingerprints are excluded, the same positions of every paired set (an attack on an
    /// image it learnt from is left out with the image, whoever made the attack), and any
    /// other image whose fingerprint is excluded.
    /// - Parameter excluded: Fingerprints of the images learnt from.
    /// - Returns: The sets without those images; paired sets stay paired.
    package func removing(fingerprints excluded: Set<UInt64>) -> Data {
      guard !excluded.isEmpty else { return self }
      let cleanPrints = clean.fingerprints()
      var result = self
      result.clean = clean.selecting(
        cleanPrints.indices.filter { !excluded.contains(cleanPrints[$0]) })
      for index in adversarialSets.indices {
        let set = adversarialSets[index]
        guard set.isPaired else {
          result.adversarialSets[index].images = set.images.removing(fingerprints: excluded)
          continue
        }
        let prints = set.images.fingerprints()
        let kept = prints.indices.filter { position in
          position < cleanPrints.count && !excluded.contains(cleanPrints[position])
            && !excluded.contains(prints[position])
        }
        result.adversarialSets[index].images = set.images.selecting(kept)
      }
      return result
    }
  }

  /// The clean set alone, checked against the pipeline, without the adversarial sets.
  /// - Parameter pipeline: The pipeline the file describes.
  /// - Returns: `data.clean`, its labels matched by name to the classes a model records.
  /// - Throws: `PipelineError` for a set that does not fit the classifier; data errors.
  public func loadClean(for pipeline: Pipeline) throws -> ImageBatch {
    // A model that records its classes' names has the clean set matched to them by name.
    let images = try matchingModelClasses(
      clean.load(), from: "data.clean (\(clean.description))", model: model)
    try pipeline.check(images, name: "data.clean (\(clean.description))", file: file.path)
    return images
  }

  /// Loads the clean set, then every adversarial set (from its source, the attack cache, or by
  /// running its attack against the classifier or the whole pipeline), applies the limits and
  /// checks every set against the classifier: image shape, labels, NaN values.
  /// - Parameters:
  ///   - pipeline: The pipeline built from this description (fitted, when a set attacks it).
  ///   - limit: Score only the first N images of each set (overrides `data.limit`).
  ///   - includingAdaptiveSets: Whether to load the sets made against the pipeline itself
  ///     (`against: "pipeline"`); the tuner makes those per configuration instead.
  ///   - sharing: How the shards of a job share the making of a set missing from the cache
  ///     (see `AdversarialCache.Sharing`), or nil for one process.
  ///   - progress: Called with the set's name, images done and total while an attack runs.
  /// - Returns: Every set.
  /// - Throws: `PipelineError` for sets that do not fit the classifier; data and attack errors.
  public func loadData(
    for pipeline: Pipeline, limit: Int? = nil, includingAdaptiveSets: Bool = true,
    sharing: AdversarialCache.Sharing? = nil,
    progress: (String, Int, Int) -> Void = { _, _, _ in }
  ) throws -> Data {
    let limit = limit ?? self.limit
    var cleanImages = try loadClean(for: pipeline)
    var sets: [Data.Adversarial] = []
    for (index, set) in adversarialSets.enumerated()
    where includingAdaptiveSets || !set.isAdaptive {
      var loaded: Data.Adversarial
      switch set.source {
      case .data(let source):
        // Labels are matched to the clean set's classes by name: a set that lacks a class
        // must not shift the others.
        let images = try source.load().aligned(
          toClasses: cleanImages.classNames, of: "data.clean (\(clean.description))",
          as: "\(setPath(index)) (\(source.description))")
        loaded = Data.Adversarial(
          name: set.name, images: images, fromCache: nil,
          attacker: "given set \(source.description)", isPaired: false)
      case .attack(let settings):
        let job = try attackJob(settings, for: pipeline, limit: limit)
        let result = try AdversarialCache(folder: cacheFolder).adversarialSet(
          model: model, classifier: job.classifier, clean: (clean, cleanImages),
          attack: job.settings, pipelineIdentity: job.pipelineIdentity, sharing: sharing
        ) { progress(set.name, $0, $1) }
        loaded = Data.Adversarial(
          name: set.name, images: result.images, fromCache: result.cached,
          attacker: job.settings.summary, isPaired: true)
      }
      try pipeline.check(loaded.images, name: setPath(index), file: file.path)
      if let limit { loaded.images = loaded.images.prefix(min(limit, loaded.images.count)) }
      sets.append(loaded)
    }
    if let limit { cleanImages = cleanImages.prefix(min(limit, cleanImages.count)) }
    let data = Data(clean: cleanImages, adversarialSets: sets)
    return excludesFitted ? try removingFitted(from: data) : data
  }

  /// Makes a shard's part of every attack-made adversarial set missing from the cache (see
  /// `ShardedSet`): the first step of a sharded score, which `loadData(sharing: .joining)`
  /// joins.
  /// - Parameters:
  ///   - shard: The shard.
  ///   - pipeline: The pipeline built from this description (fitted, when a set attacks it).
  ///   - limit: As for `loadData`.
  ///   - progress: Called with the set's name, the part's images done and its total.
  /// - Returns: Each attack-made set's name, the positions of this shard's images and whether
  ///   they were made now (not when the set or the part was cached).
  /// - Throws: Data and attack errors.
  public func makeParts(
    for shard: Shard, of pipeline: Pipeline, limit: Int? = nil,
    progress: (String, Int, Int) -> Void = { _, _, _ in }
  ) throws -> [(set: String, images: Range<Int>, made: Bool)] {
    let cleanImages = try loadClean(for: pipeline)
    return try adversarialSets.compactMap { set in
      guard case .attack(let settings) = set.source else { return nil }
      let job = try attackJob(settings, for: pipeline, limit: limit ?? self.limit)
      let part = try AdversarialCache(folder: cacheFolder).makePart(
        model: model, classifier: job.classifier, clean: (clean, cleanImages),
        attack: job.settings, pipelineIdentity: job.pipelineIdentity, shard: shard
      ) { progress(set.name, $0, $1) }
      return (set.name, part.images, part.made)
    }
  }

  /// What an attack-made set runs: its settings under a limit, the classifier it attacks (the
  /// whole pipeline, averaged over `eot` draws, for an adaptive set) and that pipeline's
  /// identity for the cache key.
  private func attackJob(
    _ settings: AttackSettings, for pipeline: Pipeline, limit: Int?
  ) throws -> (settings: AttackSettings, classifier: any Classifier, pipelineIdentity: String?) {
    var settings = settings
    if let limit { settings.limit = min(settings.limit ?? limit, limit) }
    guard settings.against == .pipeline else { return (settings, pipeline.classifier, nil) }
    return (
      settings, ExpectationOverTransformation(pipeline, samples: settings.eot),
      try pipelineIdentity()
    )
  }

  /// The key path of adversarial set `index` in the file, for messages.
  private func setPath(_ index: Int) -> String {
    adversarialSets.count == 1 ? "data.adversarial" : "data.adversarial[\(index)]"
  }

  /// What a set made against this pipeline depends on besides the classifier, the clean set
  /// and the attack: every stage and parameter as the file gives them, the fitted models'
  /// bytes and those of every file a stage reads (`PipelineStage.inputFiles`).
  func pipelineIdentity() throws -> String {
    var identity = stagesIdentity
    for fitting in fittings where FileManager.default.fileExists(atPath: fitting.model.path) {
      var hash = SHA256()
      hash.update(try FileAccess.contents(of: fitting.model))
      // The fitted postprocessor's keeps its old name, so that existing cache keys stay.
      let name = fitting == self.fitting ? "fitted" : "fitted:\(fitting.position.path)"
      identity += " \(name)=\(hash.hexDigest())"
    }
    let stages: [any PipelineStage] = detectors + preprocessors + postprocessors
    for file in stages.flatMap({ $0.inputFiles }) {
      var hash = SHA256()
      hash.update(try FileAccess.contents(of: file))
      identity += " \(file.lastPathComponent)=\(hash.hexDigest())"
    }
    return identity
  }
}
