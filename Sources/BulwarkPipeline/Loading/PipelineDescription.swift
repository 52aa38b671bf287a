import BulwarkData
import BulwarkDefenses
import Foundation

/// A parsed and checked pipeline file: the classifier, the data, and the defenses in order.
///
/// The file is JSON5. Relative paths resolve against the file's folder. Every key is checked:
/// ```
/// {
///   classifier: { model: "models/lenet5-fashion.safetensors" },  // .safetensors
///   data: {
///     clean: "fashion-mnist:test",          // built-in name, .npz, image folder or IDX file
///     adversarial: "adv.npz",               // a data source, or an attack on the clean set:
///     // adversarial: { attack: { method: "pgd", eps: 0.1, norm: "inf", steps: 40,
///     //                          stepSize: 0.01, seed: 0, limit: 1000 } },
///     limit: 1000,                          // optional: score the first N of each set
///     excludeFitted: true,                  // optional: leave out the images the fitted
///                                           // postprocessor learnt from (its fit record)
///   },
///   preprocessors: [ { type: "spatial-smoothing", window: 3 } ],   // applied in order
///   postprocessors: [ { type: "high-confidence", cutoff: 0.3 } ],  // applied in order
///   detectors: [ { type: "strip", pool: "fashion-mnist:train", fit: { clean: … } } ],
///   tune: { … },                            // optional search space (see `SearchSpace`)
/// }
/// ```
/// An attack-generated set is cached in `.bulwark-cache/` beside the file (see
/// `AdversarialCache`). A fitted stage (any `FittedPostprocessor`, such as
/// `distribution-classifier`, and any `Detector` without a `threshold`) also takes `model` and
/// `fit` keys (see `FitSettings`); its saved model is loaded when present. Loading reads the
/// files stages name (models, STRIP's pool) and runs nothing heavy.
public struct PipelineDescription: Sendable {
  /// The pipeline file.
  public var file: URL
  /// The classifier's model file, resolved.
  public var model: URL
  /// The clean labelled images.
  public var clean: DataSource
  /// The adversarial sets, in file order: labelled images, or attacks that make them from the
  /// clean set (at least one).
  public var adversarialSets: [AdversarialSet]
  /// The stage lists as the file gives them (compact JSON), for the cache keys of sets made
  /// against this very pipeline.
  public var stagesIdentity: String
  /// Score only the first N images of each set (`data.limit`), or all.
  public var limit: Int?
  /// Whether scoring leaves out the images the fitted postprocessor learnt from, by its fit
  /// record's fingerprints (`data.excludeFitted`), instead of refusing them; `bulwark tune`
  /// writes it into `best.json5`, whose postprocessor was fitted on part of the data.
  public var excludesFitted = false
  /// The preprocessors, in order.
  public var preprocessors: [any Preprocessor]
  /// The postprocessors, in order.
  public var postprocessors: [any Postprocessor]
  /// The detectors: the pipeline abstains on an image any of them flags.
  public var detectors: [any Detector]
  /// Every fitted stage's model file and fit data (its `model` and `fit` keys), in file order:
  /// the detectors that fit their threshold, then the fitted postprocessor.
  public var fittings: [FitSettings]

  /// The fitted postprocessor's model file and fit data, or nil without one.
  public var fitting: FitSettings? { fittings.first { !$0.position.isDetector } }

  /// Reads and checks a pipeline file.
  /// - Parameters:
  ///   - url: The pipeline file.
  ///   - registry: The defenses its stages may name (default: the built-ins).
  /// - Throws: `PipelineErrors` listing every problem found: malformed JSON5 (line and
  ///   column), unknown keys and types (with suggestions), bad parameters, missing files.
  public init(contentsOf url: URL, registry: DefenseRegistry = .current) throws(PipelineErrors) {
    let text = try pipelineText(at: url)
    try self.init(
      json5: text, file: url, folder: url.deletingLastPathComponent(), registry: registry)
  }

  /// Parses and checks pipeline text.
  /// - Parameters:
  ///   - text: The JSON5 text.
  ///   - file: The file it came from (for errors and the cache folder).
  ///   - folder: The folder relative paths resolve against.
  ///   - registry: The defenses its stages may name.
  /// - Throws: `PipelineErrors` listing every problem found.
  public init(
    json5 text: String, file: URL, folder: URL, registry: DefenseRegistry = .current
  ) throws(PipelineErrors) {
    let root: JSONValue
    do {
      var parser = JSON5Parser(text, file: file.path)
      root = try parser.parse()
    } catch {
      throw PipelineErrors([error])
    }
    try self.init(root: root, file: file, folder: folder, registry: registry)
  }

  /// Checks a parsed pipeline file.
  init(
    root: JSONValue, file: URL, folder: URL, registry: DefenseRegistry
  ) throws(PipelineErrors) {
    let name = file.path
    var errors: [PipelineError] = []
    let usage = KeyUsage()
    let decoder = JSONValueDecoder(root, usage: usage, file: name)
    guard case .object = root else {
      throw PipelineErrors([decoder.mismatch("an object with classifier, data, preprocessors")])
    }
    usage.record("", at: "")
    // The search space is `SearchSpace`'s to read and check; `score` ignores it.
    usage.record("tune", at: "")
    func attempt<T>(_ body: () throws -> T) -> T? {
      do {
        return try body()
      } catch let error as PipelineError {
        errors.append(error)
      } catch {
        errors.append(DefenseRegistry.describe(error, in: decoder))
      }
      return nil
    }
    func required(_ parent: JSONValueDecoder?, _ key: String) throws -> JSONValueDecoder {
      guard let parent else { throw decoder.error("missing required key '\(key)'") }
      guard case .object = parent.value else { throw parent.mismatch("an object") }
      guard let child = parent.member(key) else {
        throw parent.error("missing required key '\(key)'")
      }
      return child
    }

    let classifier = attempt { try required(decoder, "classifier") }
    let modelPath = attempt { try required(classifier, "model") }
    // A missing `model` is reported once, by `required`.
    let model = modelPath.flatMap { modelPath in
      attempt { () throws -> URL in
        let url = Self.resolve(try modelPath.decode(String.self), against: folder)
        guard FileManager.default.fileExists(atPath: url.path) else {
          throw modelPath.error("no such file: \(url.path)")
        }
        return url
      }
    }

    let data = attempt { try required(decoder, "data") }
    let clean = attempt { () throws -> DataSource in
      let source = try required(data, "clean")
      return try Self.dataSource(source, folder: folder)
    }
    let adversarial = attempt { () throws -> [AdversarialSet] in
      let source = try required(data, "adversarial")
      guard case .array(let elements) = source.value else {
        return [
          AdversarialSet(
            name: AdversarialSet.defaultName,
            source: try Self.adversarialSource(source, folder: folder))
        ]
      }
      guard !elements.isEmpty else { throw source.mismatch("at least one adversarial set") }
      var sets: [AdversarialSet] = []
      for index in elements.indices {
        let element = JSONValueDecoder(
          elements[index], codingPath: source.codingPath + [PathKey(intValue: index)],
          usage: usage, file: name)
        guard case .object = element.value else {
          throw element.mismatch("{ name: \"pgd\", attack: { … } } or { name: …, data: SOURCE }")
        }
        element.usage.record("", at: render(element.codingPath))
        let setName = try required(element, "name").decode(String.self)
        guard !setName.isEmpty, !setName.contains(where: { $0.isWhitespace || $0 == "," }) else {
          throw element.error("name must be a word such as \"pgd\", got \"\(setName)\"")
        }
        guard !sets.contains(where: { $0.name == setName }) else {
          throw element.error("a set named '\(setName)' is already listed")
        }
        let sourceValue: AdversarialSource
        if let data = element.member("data") {
          sourceValue = .data(try Self.dataSource(data, folder: folder))
        } else {
          sourceValue = .attack(try required(element, "attack").decode(AttackSettings.self))
        }
        sets.append(AdversarialSet(name: setName, source: sourceValue))
      }
      return sets
    }
    let limit = attempt { () throws -> Int? in
      guard let limit = data?.member("limit") else { return nil }
      let value = try limit.decode(Int.self)
      guard value >= 1 else { throw limit.error("must be an integer >= 1, got \(value)") }
      return value
    }
    let excludesFitted = attempt { () throws -> Bool in
      try data?.member("excludeFitted")?.decode(Bool.self) ?? false
    }

    var preprocessors: [any Preprocessor] = []
    var postprocessors: [any Postprocessor] = []
    var detectors: [any Detector] = []
    var fittings: [FitSettings] = []
    for key in ["detectors", "preprocessors", "postprocessors"] {
      guard let list = decoder.member(key) else { continue }
      guard case .array(let stages) = list.value else {
        errors.append(list.mismatch("an array of stages"))
        continue
      }
      for index in stages.indices {
        let stage = JSONValueDecoder(
          stages[index], codingPath: list.codingPath + [PathKey(intValue: index)],
          usage: usage, file: name)
        do throws(PipelineError) {
          switch key {
          case "preprocessors":
            let preprocessor = try registry.makePreprocessor(stage)
              .resolvingRelativePaths(against: folder)
            preprocessors.append(
              try Self.loadingFiles({ try preprocessor.loadingFiles() }, at: stage))
          case "postprocessors":
            let made = try registry.makePostprocessor(stage).resolvingRelativePaths(against: folder)
            var postprocessor = try Self.loadingFiles({ try made.loadingFiles() }, at: stage)
            if var fitted = postprocessor as? any FittedPostprocessor {
              fittings.append(
                try Self.fitSettings(
                  stage, position: .postprocessor(postprocessors.count), stage: &fitted,
                  acceptsAdversarial: true, file: file, folder: folder))
              postprocessor = fitted
            }
            postprocessors.append(postprocessor)
          default:
            let made = try registry.makeDetector(stage).resolvingRelativePaths(against: folder)
            var detector = try Self.loadingFiles({ try made.loadingFiles() }, at: stage)
            if detector.isFitted {
              // A threshold given in the file: nothing to fit, and no model to load over it.
              for key in ["fit", "model"] where stage.member(key) != nil {
                throw stage.error(
                  "gives a threshold, so it has nothing to fit; remove '\(key)' or 'threshold'")
              }
            } else {
              fittings.append(
                try Self.fitSettings(
                  stage, position: .detector(detectors.count), stage: &detector,
                  acceptsAdversarial: detector.learnsFromAdversarialImages, file: file,
                  folder: folder))
            }
            detectors.append(detector)
          }
        } catch {
          errors.append(error)
        }
      }
    }
    errors += Self.fittingProblems(
      preprocessors: preprocessors, postprocessors: postprocessors, fittings: fittings,
      file: name)
    errors += usage.unknownKeys(in: root, at: [], file: name)
    guard errors.isEmpty, let model, let clean, let adversarial else {
      throw PipelineErrors(errors)
    }
    self.file = file
    self.model = model
    self.clean = clean
    self.adversarialSets = adversarial
    // Detectors join the identity only when the file has them, so that the sets of pipelines
    // without them keep their cache keys.
    stagesIdentity = ["preprocessors", "postprocessors", "detectors"].compactMap { key in
      key == "detectors" && root[key] == nil ? nil : "\(key)=" + (root[key]?.compactText ?? "[]")
    }.joined(separator: " ")
    self.limit = limit ?? nil
    self.excludesFitted = excludesFitted ?? false
    self.preprocessors = preprocessors
    self.postprocessors = postprocessors
    self.detectors = detectors
    self.fittings = fittings
  }

  /// The first adversarial set's source (the only one for most pipelines).
  public var adversarial: AdversarialSource { adversarialSets[0].source }

  /// The folder attack results are cached in: `.bulwark-cache` beside the pipeline file.
  public var cacheFolder: URL {
    file.deletingLastPathComponent().appendingPathComponent(".bulwark-cache")
  }

  /// A stage's `PipelineStage.loadingFiles()`, its error reported at the stage's place in the
  /// file.
  static func loadingFiles<Stage>(_ load: () throws -> Stage, at decoder: JSONValueDecoder)
    throws(PipelineError) -> Stage
  {
    do {
      return try load()
    } catch {
      throw decoder.error("\(error)")
    }
  }

  static func resolve(_ path: String, against folder: URL) -> URL {
    path.hasPrefix("/")
      ? URL(fileURLWithPath: path)
      : folder.appendingPathComponent(path).standardizedFileURL
  }

  static func dataSource(
    _ decoder: JSONValueDecoder, folder: URL
  ) throws -> DataSource {
    let text = try decoder.decode(String.self)
    do {
      return try DataSource(text, relativeTo: folder)
    } catch {
      throw decoder.error("\(error)")
    }
  }

  /// A data source, or `{ attack: { … } }`.
  static func adversarialSource(
    _ source: JSONValueDecoder, folder: URL
  ) throws -> AdversarialSource {
    if case .string = source.value {
      return .data(try dataSource(source, folder: folder))
    }
    guard case .object = source.value else {
      throw source.mismatch("a data source or { attack: { method: \"pgd\", eps: 0.1 } }")
    }
    source.usage.record("", at: render(source.codingPath))
    guard let attack = source.member("attack") else {
      throw source.error("missing required key 'attack'")
    }
    return .attack(try attack.decode(AttackSettings.self))
  }
}
