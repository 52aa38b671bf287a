import BulwarkData
import BulwarkModel

extension PipelineDescription {
  /// The data a pipeline scores, loaded and checked against its classifier.
  public struct Data: Sendable {
    /// The clean images.
    public var clean: ImageBatch
    /// The adversarial images.
    public var adversarial: ImageBatch
    /// Whether the adversarial images came from the attack cache (nil: from a data source).
    public var fromCache: Bool?
  }

  /// Loads the clean set, then the adversarial set (from its source, the attack cache, or by
  /// running the attack), applies the limits and checks both sets against the classifier: image
  /// shape, labels, NaN values.
  /// - Parameters:
  ///   - pipeline: The pipeline built from this description (its classifier attacks and checks).
  ///   - limit: Score only the first N images of each set (overrides `data.limit`).
  ///   - progress: Called with (images done, total) while an attack runs.
  /// - Returns: Both sets.
  /// - Throws: `PipelineError` for sets that do not fit the classifier; data and attack errors.
  public func loadData(
    for pipeline: Pipeline, limit: Int? = nil, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> Data {
    let name = file.path
    var cleanImages = try clean.load()
    try pipeline.check(cleanImages, name: "data.clean", file: name)
    let adversarialImages: ImageBatch
    var fromCache: Bool?
    switch adversarial {
    case .data(let source):
      adversarialImages = try source.load()
    case .attack(var settings):
      if let limit = limit ?? self.limit {
        settings.limit = min(settings.limit ?? limit, limit)
      }
      let cache = AdversarialCache(folder: cacheFolder)
      let result = try cache.adversarialSet(
        model: model, classifier: pipeline.classifier, clean: (clean, cleanImages),
        attack: settings, progress: progress)
      adversarialImages = result.images
      fromCache = result.cached
    }
    try pipeline.check(adversarialImages, name: "data.adversarial", file: name)
    var adversarialSet = adversarialImages
    if let limit = limit ?? self.limit {
      cleanImages = cleanImages.prefix(min(limit, cleanImages.count))
      adversarialSet = adversarialSet.prefix(min(limit, adversarialSet.count))
    }
    let data = Data(clean: cleanImages, adversarial: adversarialSet, fromCache: fromCache)
    return excludesFitted ? try removingFitted(from: data) : data
  }
}
