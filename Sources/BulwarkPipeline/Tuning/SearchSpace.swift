import BulwarkData
import BulwarkDefenses
import Foundation

/// A pipeline file's search space: its `tune` section, expanded and checked.
///
/// The space lives in `tune`, apart from the stage lists, so that the top-level `preprocessors`
/// and `postprocessors` stay one concrete configuration that `bulwark score` runs unchanged:
/// ```
/// tune: {
///   objective: "harmonic-mean",       // or "worst-case-harmonic-mean" (the default with
///                                     // several adversarial sets), "accuracy" (on the
///                                     // union), "weighted", or "stealing" (1 − what a
///                                     // stealing student learns; see `StealingSetup`)
///   weight: 0.5,                      // weighted only: the weight of clean accuracy
///   stealing: { queries: 10000, data: "fashion-mnist:train" },  // stealing only
///   minCleanAccuracy: 0.8,            // constraints (optional)
///   maxSecondsPerImage: 0.001,
///   sample: 2000,                     // images sampled from each set (default 2,000)
///   fitFraction: 0.5,                 // share of the sample kept for fitting fitted
///                                     // postprocessors (default 0.5 if any, else 0)
///   rerank: 10,                       // worst case: the leading configurations attacked by
///                                     // the pipeline-targeted sets (default 10)
///   classifier: { oneOf: [            // classifiers to compare (default: the top-level one)
///     { model: "models/lenet5-fashion.safetensors" },
///     { model: "models/lenet5-fashion-adv.safetensors" } ] },
///   preprocessors: [                  // slots, applied in order
///     { oneOf: [ null,                // a slot's alternatives; null is "no stage"
///       { type: "spatial-smoothing", window: { from: 2, to: 7, step: 1 } },
///       { type: "jpeg-compression", quality: [10, 50, 90] } ] },
///   ],
///   postprocessors: [ { type: "high-confidence", cutoff: [0.3, 0.5] } ],
/// }
/// ```
/// A slot is a stage object or `{ oneOf: [...] }`. Any parameter may be a list of values or a
/// range `{ from, to, step }` (both ends included); the grid is the product of every slot's
/// alternatives and every listed parameter. A parameter whose value is itself an array is
/// written as a list of one: `clipValues: [[0, 1]]`. When `tune` leaves out a stage list, the
/// top-level list is used as it is. With several classifiers every configuration is tried on
/// each, under the same attack definitions (sets made against the classifier are made per
/// classifier). Every grid value is built, so that a bad one fails before any
/// work, named by its path (`tune.preprocessors[0].oneOf[1].window[3]`).
public struct SearchSpace: Sendable {
  /// What the search maximises.
  public var objective: TuningObjective
  /// The stealing objective's attack; nil for the other objectives.
  public var stealing: StealingSetup?
  /// Configurations below this clean accuracy rank after every other.
  public var minCleanAccuracy: Double?
  /// Configurations slower than this (seconds per image, all stages) rank after every other.
  public var maxSecondsPerImage: Double?
  /// Images sampled from each set.
  public var sample: Int
  /// The share of the sample kept for fitting fitted postprocessors.
  public var fitFraction: Double
  /// How many of the leading configurations (ranked on the sets made once, before the search)
  /// the worst-case objective re-ranks against the sets made against each configuration.
  public var rerank: Int
  /// The alternatives of each preprocessor slot.
  public var preprocessorSlots: [[StageChoice]]
  /// The alternatives of each postprocessor slot.
  public var postprocessorSlots: [[StageChoice]]
  /// The classifiers to compare (`tune.classifier`), resolved; empty when the search keeps
  /// the top-level classifier.
  public var classifiers: [URL]
  /// Whether the file has a `tune` section.
  public var hasTuneSection: Bool
  /// The whole file, for writing the winner's pipeline file.
  let root: JSONValue
  let file: String
  let folder: URL
  let registry: DefenseRegistry

  /// Reads and checks a pipeline file's search space.
  /// - Parameters:
  ///   - url: The pipeline file.
  ///   - registry: The defenses its stages may name.
  /// - Throws: `PipelineErrors` listing every problem of the `tune` section.
  public init(contentsOf url: URL, registry: DefenseRegistry = .current) throws(PipelineErrors) {
    let text = try pipelineText(at: url)
    try self.init(
      json5: text, file: url.path, folder: url.deletingLastPathComponent(), registry: registry)
  }

  /// Parses and checks a pipeline's search space.
  /// - Parameters:
  ///   - text: The pipeline file's JSON5 text.
  ///   - file: Its name, for errors.
  ///   - folder: The folder relative paths resolve against.
  ///   - registry: The defenses its stages may name.
  /// - Throws: `PipelineErrors` listing every problem of the `tune` section.
  public init(
    json5 text: String, file: String, folder: URL, registry: DefenseRegistry = .current
  ) throws(PipelineErrors) {
    let root: JSONValue
    do {
      var parser = JSON5Parser(text, file: file)
      root = try parser.parse()
    } catch {
      throw PipelineErrors([error])
    }
    try self.init(root: root, file: file, folder: folder, registry: registry)
  }

  /// Checks a parsed pipeline file's search space.
  init(root: JSONValue, file: String, folder: URL, registry: DefenseRegistry)
    throws(PipelineErrors)
  {
    self.root = root
    self.file = file
    self.folder = folder
    self.registry = registry
    var errors: [PipelineError] = []
    let tune = root["tune"] ?? .object([])
    hasTuneSection = root["tune"] != nil
    guard case .object(let members) = tune else {
      throw PipelineErrors([
        PipelineError(
          file: file, path: "tune",
          message: "expected an object, found \(JSONValueDecoder.describe(tune))")
      ])
    }
    let known = [
      "objective", "weight", "minCleanAccuracy", "maxSecondsPerImage", "sample", "fitFraction",
      "rerank", "preprocessors", "postprocessors", "classifier", "stealing",
    ]
    for member in members where !known.contains(member.key) {
      var message = "unknown key"
      if let guess = closestMatch(to: member.key, among: known) {
        message += "; did you mean \(guess)?"
      }
      errors.append(PipelineError(file: file, path: "tune." + member.key, message: message))
    }
    func number(_ key: String, in range: ClosedRange<Double>, integer: Bool = false) -> Double? {
      guard let value = tune[key] else { return nil }
      guard case .number(let number) = value, range.contains(number),
        !integer || number == number.rounded()
      else {
        let kind = integer ? "an integer" : "a number"
        errors.append(
          PipelineError(
            file: file, path: "tune." + key,
            message: "expected \(kind) in \(JSONValue.format(range.lowerBound))..."
              + "\(JSONValue.format(range.upperBound)), found \(JSONValueDecoder.describe(value))"
          ))
        return nil
      }
      return number
    }
    minCleanAccuracy = number("minCleanAccuracy", in: 0...1)
    maxSecondsPerImage = number("maxSecondsPerImage", in: 0...1e9)
    sample = Int(number("sample", in: 1...1e9, integer: true) ?? 2_000)
    rerank = Int(number("rerank", in: 1...1e9, integer: true) ?? 10)
    classifiers = []
    if let value = tune["classifier"] {
      do {
        classifiers = try Self.classifiers(value, file: file, folder: folder)
      } catch {
        errors += error.errors
      }
    }
    let weight = number("weight", in: 0...1)
    let fraction = number("fitFraction", in: 0...0.9)
    let severalSets: Bool = {
      guard case .array(let sets)? = root["data"]?["adversarial"] else { return false }
      return sets.count > 1
    }()
    switch tune["objective"] {
    case nil: objective = severalSets ? .worstCaseHarmonicMean : .harmonicMean
    case .string("harmonic-mean")?: objective = .harmonicMean
    case .string("worst-case-harmonic-mean")?: objective = .worstCaseHarmonicMean
    case .string("accuracy")?: objective = .accuracy
    case .string("weighted")?: objective = .weighted(weight ?? 0.5)
    case .string("stealing")?: objective = .stealing(.studentAccuracy)
    case let other?:
      objective = .harmonicMean
      var message =
        "expected one of \(TuningObjective.names.joined(separator: ", ")), found "
        + JSONValueDecoder.describe(other)
      if case .string(let name) = other,
        let guess = closestMatch(to: name, among: TuningObjective.names)
      {
        message += "; did you mean \(guess)?"
      }
      errors.append(PipelineError(file: file, path: "tune.objective", message: message))
    }
    stealing = nil
    if let value = tune["stealing"] {
      if case .stealing = objective {
        do {
          let setup = try StealingSetup(value, file: file, folder: folder)
          stealing = setup
          objective = .stealing(setup.measure)
        } catch {
          errors += error.errors
        }
      } else {
        errors.append(
          PipelineError(
            file: file, path: "tune.stealing",
            message: "only the stealing objective runs a stealing attack; set objective: "
              + "\"stealing\" or remove stealing"))
      }
    } else if case .stealing = objective {
      errors.append(
        PipelineError(
          file: file, path: "tune.stealing",
          message: "the stealing objective needs the attack: stealing: { queries: N, data: "
            + "SOURCE }"))
    }
    if case .stealing = objective, minCleanAccuracy == nil, tune["minCleanAccuracy"] == nil {
      // Without it, the configuration that answers nothing useful steals best.
      errors.append(
        PipelineError(
          file: file, path: "tune.minCleanAccuracy",
          message: "the stealing objective needs the clean accuracy the pipeline must keep "
            + "(minCleanAccuracy: 0.85); otherwise a configuration that wrecks the pipeline "
            + "wins"))
    }

    // The space is counted from the text before any stage is built: building 10^12
    // configurations, or 5 slots of 100,000, took minutes and gigabytes before the refusal.
    var configurations = Double(max(classifiers.count, 1))
    for kind in ["preprocessors", "postprocessors"] {
      let fromTune = tune[kind] != nil
      guard case .array(let elements)? = tune[kind] ?? root[kind] else { continue }
      for element in elements {
        configurations *= Self.choiceCount(of: element, grids: fromTune)
      }
    }
    let tooLarge = configurations > Double(ParameterGrid.maximumConfigurations)
    if tooLarge {
      errors.append(
        PipelineError(
          file: file, path: "tune",
          message: "the search space has \(ParameterGrid.describeCount(configurations)) "
            + "configurations; at most \(ParameterGrid.maximumConfigurations)"))
    }
    var slots: [[[StageChoice]]] = [[], []]
    for (kind, isPre) in [("preprocessors", true), ("postprocessors", false)] {
      let fromTune = tune[kind] != nil
      let list = tune[kind] ?? root[kind] ?? .array([])
      let base = fromTune ? "tune." + kind : kind
      guard case .array(let elements) = list else {
        errors.append(
          PipelineError(
            file: file, path: base,
            message: "expected an array of stages, found \(JSONValueDecoder.describe(list))"))
        continue
      }
      for (index, element) in elements.enumerated() {
        let path = "\(base)[\(index)]"
        do {
          slots[isPre ? 0 : 1].append(
            try Self.slot(
              element, path: path, isPreprocessor: isPre, grids: fromTune,
              firstCombinationOnly: tooLarge, file: file, registry: registry))
        } catch {
          errors += error.errors
        }
      }
    }
    preprocessorSlots = slots[0].map { slot in
      slot.map { $0.resolvingRelativePaths(against: folder) }
    }
    postprocessorSlots = slots[1].map { slot in
      slot.map { $0.resolvingRelativePaths(against: folder) }
    }
    let fitted = postprocessorSlots.joined().contains {
      $0.postprocessor is any FittedPostprocessor
    }
    fitFraction = fraction ?? (fitted ? 0.5 : 0)
    guard errors.isEmpty else { throw PipelineErrors(errors) }
  }

  /// The external-process stages among the alternatives, one per alternative of the file
  /// (`tune.preprocessors[0].oneOf[2]`), in file order.
  public var externalCommands: [ExternalCommand] {
    var seen = Set<String>()
    return (preprocessorSlots + postprocessorSlots).joined().compactMap { choice in
      let stage: (any PipelineStage)? = choice.preprocessor ?? choice.postprocessor
      guard let stage, seen.insert(choice.path).inserted else { return nil }
      return ExternalCommand.of(stage, at: choice.path)
    }
  }

  /// Every configuration of the grid, in a fixed order: the first slot's alternatives vary
  /// slowest, postprocessor slots fastest.
  public var candidates: [TuningCandidate] {
    var result = [TuningCandidate(preprocessors: [], postprocessors: [])]
    for slot in preprocessorSlots {
      result = result.flatMap { base in
        slot.map { choice in
          TuningCandidate(
            preprocessors: base.preprocessors + [choice], postprocessors: [])
        }
      }
    }
    for slot in postprocessorSlots {
      result = result.flatMap { base in
        slot.map { choice in
          TuningCandidate(
            preprocessors: base.preprocessors, postprocessors: base.postprocessors + [choice])
        }
      }
    }
    return result
  }

  /// The model files of `tune.classifier`: `{ model: … }` or `{ oneOf: [ { model: … }, … ] }`,
  /// each an existing file, none twice.
  static func classifiers(_ value: JSONValue, file: String, folder: URL) throws(PipelineErrors)
    -> [URL]
  {
    var alternatives: [(JSONValue, String)] = [(value, "tune.classifier")]
    if case .object(let members) = value, members.contains(where: { $0.key == "oneOf" }) {
      guard members.count == 1, case .array(let options)? = value["oneOf"], !options.isEmpty
      else {
        throw PipelineErrors([
          PipelineError(
            file: file, path: "tune.classifier",
            message: "expected { oneOf: [ { model: \"…\" }, … ] } with a non-empty list only")
        ])
      }
      alternatives = options.enumerated().map {
        ($0.element, "tune.classifier.oneOf[\($0.offset)]")
      }
    }
    var errors: [PipelineError] = []
    var models: [URL] = []
    for (alternative, path) in alternatives {
      guard case .object(let members) = alternative, members.count == 1,
        case .string(let name)? = alternative["model"]
      else {
        errors.append(
          PipelineError(
            file: file, path: path,
            message: "expected { model: \"file.safetensors\" }, found "
              + JSONValueDecoder.describe(alternative)))
        continue
      }
      let url = PipelineDescription.resolve(name, against: folder)
      if !FileManager.default.fileExists(atPath: url.path) {
        errors.append(
          PipelineError(file: file, path: path + ".model", message: "no such file: \(url.path)"))
      } else if models.contains(url) {
        errors.append(
          PipelineError(file: file, path: path + ".model", message: "the same model twice"))
      } else {
        models.append(url)
      }
    }
    guard errors.isEmpty else { throw PipelineErrors(errors) }
    return models
  }

  /// How many alternatives a slot expands to, counted from its text without building any:
  /// the sum over its `oneOf` alternatives of the product of their parameter lists' lengths.
  /// A malformed slot counts 1; building it names the problem.
  static func choiceCount(of value: JSONValue, grids: Bool) -> Double {
    guard grids else { return 1 }
    var alternatives = [value]
    if case .array(let options)? = value["oneOf"] { alternatives = options }
    return alternatives.reduce(0) { total, alternative in
      guard case .object(let members) = alternative else { return total + 1 }
      return total
        + members.reduce(1) { product, member in
          member.key == "type" || fittingKeys.contains(member.key)
            ? product : product * ParameterGrid.valueCount(of: member.value)
        }
    }
  }

  /// The alternatives of one slot; with `firstCombinationOnly`, only the first combination
  /// of each stage object's parameter lists is built: enough to check its type and keys when
  /// the space is refused as too large.
  static func slot(
    _ value: JSONValue, path: String, isPreprocessor: Bool, grids: Bool,
    firstCombinationOnly: Bool = false, file: String, registry: DefenseRegistry
  ) throws(PipelineErrors) -> [StageChoice] {
    var errors: [PipelineError] = []
    var choices: [StageChoice] = []
    var alternatives: [(JSONValue, String)] = [(value, path)]
    if grids, case .object(let members) = value, members.contains(where: { $0.key == "oneOf" }) {
      guard members.count == 1, case .array(let options)? = value["oneOf"], !options.isEmpty
      else {
        throw PipelineErrors([
          PipelineError(
            file: file, path: path,
            message: "expected { oneOf: [ stage or null, … ] } with a non-empty list only")
        ])
      }
      alternatives = options.enumerated().map { ($0.element, "\(path).oneOf[\($0.offset)]") }
    }
    for (alternative, alternativePath) in alternatives {
      if alternative == .null, alternatives.count > 1 || grids {
        choices.append(.none)
        continue
      }
      do {
        choices += try stageChoices(
          alternative, path: alternativePath, isPreprocessor: isPreprocessor, grids: grids,
          firstCombinationOnly: firstCombinationOnly, file: file, registry: registry)
      } catch {
        errors += error.errors
      }
    }
    guard errors.isEmpty else { throw PipelineErrors(errors) }
    return choices
  }

  /// Every concrete stage of one stage object whose parameters may be lists or ranges (the
  /// first only, when `firstCombinationOnly`).
  static func stageChoices(
    _ value: JSONValue, path: String, isPreprocessor: Bool, grids: Bool,
    firstCombinationOnly: Bool, file: String, registry: DefenseRegistry
  ) throws(PipelineErrors) -> [StageChoice] {
    guard case .object(let members) = value else {
      throw PipelineErrors([
        PipelineError(
          file: file, path: path,
          message: "expected a stage object like { type: \"spatial-smoothing\", window: 3 }, "
            + "found \(JSONValueDecoder.describe(value))")
      ])
    }
    var parameterGrids: [(key: String, grid: ParameterGrid)] = []
    var errors: [PipelineError] = []
    for member in members {
      // A fitted stage's `model` and `fit` are not parameters: the tuner fits it on the sample.
      if member.key == "type" || !grids || Self.fittingKeys.contains(member.key) {
        parameterGrids.append(
          (member.key, ParameterGrid(values: [member.value], isGrid: false, spacing: nil)))
        continue
      }
      do {
        parameterGrids.append(
          (
            member.key,
            try ParameterGrid.parse(member.value, path: path + "." + member.key, file: file)
          ))
      } catch {
        errors.append(error)
      }
    }
    guard errors.isEmpty else { throw PipelineErrors(errors) }
    let combinations = parameterGrids.reduce(1.0) { $0 * Double($1.grid.values.count) }
    guard combinations <= Double(ParameterGrid.maximumConfigurations) else {
      throw PipelineErrors([
        PipelineError(
          file: file, path: path,
          message: "its parameter lists give \(ParameterGrid.describeCount(combinations)) "
            + "combinations; at most \(ParameterGrid.maximumConfigurations)")
      ])
    }
    var choices: [StageChoice] = []
    var seen = Set<String>()
    var combination = [Int](repeating: 0, count: parameterGrids.count)
    var checkedKeys = false
    while true {
      let object = JSONValue.object(
        parameterGrids.enumerated().map { slot, entry in
          JSONValue.Member(key: entry.key, value: entry.grid.values[combination[slot]])
        })
      do {
        choices.append(
          try build(
            object, path: path, isPreprocessor: isPreprocessor, checkKeys: !checkedKeys,
            grids: parameterGrids, combination: combination, file: file, registry: registry))
      } catch {
        // A bad value of a list or range is named by its index in it.
        for error in error.errors where seen.insert(error.description).inserted {
          errors.append(error)
        }
      }
      checkedKeys = true
      if firstCombinationOnly { break }
      // The last parameter varies fastest.
      var position = parameterGrids.count - 1
      while position >= 0 {
        combination[position] += 1
        if combination[position] < parameterGrids[position].grid.values.count { break }
        combination[position] = 0
        position -= 1
      }
      if position < 0 { break }
    }
    guard errors.isEmpty else { throw PipelineErrors(errors) }
    return choices
  }

  /// The same stage with some numeric parameters replaced (for refinement), or nil when the
  /// registry rejects the values.
  /// - Parameters:
  ///   - choice: A concrete stage.
  ///   - values: New values by parameter key.
  ///   - isPreprocessor: Whether the stage is a preprocessor.
  /// - Returns: The rebuilt stage, keeping the tuned parameters' grid spacing.
  func rebuilt(
    _ choice: StageChoice, values: [String: Double], isPreprocessor: Bool
  ) -> StageChoice? {
    guard case .object(let members)? = choice.json else { return nil }
    let object = JSONValue.object(
      members.map { member in
        JSONValue.Member(
          key: member.key, value: values[member.key].map(JSONValue.number) ?? member.value)
      })
    guard
      var result = try? Self.build(
        object, path: "refine", isPreprocessor: isPreprocessor, checkKeys: false, grids: [],
        combination: [], file: file, registry: registry)
    else { return nil }
    result = result.resolvingRelativePaths(against: folder)
    result.path = choice.path
    result.tuned = choice.tuned.map { tuned in
      var tuned = tuned
      tuned.value = values[tuned.parameter] ?? tuned.value
      return tuned
    }
    return result
  }

  /// A fitted postprocessor's keys that `PipelineDescription` reads (see `FitSettings`).
  static let fittingKeys = ["model", "fit"]

  /// Builds one concrete stage through the registry, checking its keys.
  static func build(
    _ object: JSONValue, path: String, isPreprocessor: Bool, checkKeys: Bool,
    grids: [(key: String, grid: ParameterGrid)], combination: [Int], file: String,
    registry: DefenseRegistry
  ) throws(PipelineErrors) -> StageChoice {
    let usage = KeyUsage()
    let decoder = JSONValueDecoder(object, codingPath: [], usage: usage, file: file)
    func relocate(_ error: PipelineError) -> PipelineError {
      var error = error
      let key = error.path.split(separator: ".").first.map(String.init) ?? ""
      var located = path + (error.path.isEmpty ? "" : "." + error.path)
      if let slot = grids.firstIndex(where: { $0.key == key }), grids[slot].grid.isGrid,
        !error.message.hasPrefix("unknown key")
      {
        let suffix = error.path.dropFirst(key.count)
        located = "\(path).\(key)[\(combination[slot])]" + suffix
      }
      error.path = located
      return error
    }
    let preprocessor: (any Preprocessor)?
    let postprocessor: (any Postprocessor)?
    do {
      if isPreprocessor {
        preprocessor = try registry.makePreprocessor(decoder)
        postprocessor = nil
      } else {
        postprocessor = try registry.makePostprocessor(decoder)
        preprocessor = nil
      }
    } catch {
      throw PipelineErrors([relocate(error)])
    }
    if checkKeys {
      if postprocessor is any FittedPostprocessor {
        for key in fittingKeys { usage.record(key, at: "") }
      }
      let unknown = usage.unknownKeys(in: object, at: [], file: file)
      if !unknown.isEmpty { throw PipelineErrors(unknown.map(relocate)) }
    }
    var type: String?
    if case .string(let name)? = object["type"] { type = name }
    let tuned = grids.enumerated().compactMap { slot, entry -> StageChoice.TunedValue? in
      guard entry.grid.isGrid, entry.grid.values.count > 1,
        case .number(let value) = entry.grid.values[combination[slot]]
      else { return nil }
      let integral = entry.grid.values.allSatisfy {
        if case .number(let number) = $0 { return number == number.rounded() }
        return false
      }
      return StageChoice.TunedValue(
        parameter: entry.key, value: value, spacing: entry.grid.spacing ?? 1,
        isIntegral: integral)
    }
    return StageChoice(
      json: object, path: path, type: type, preprocessor: preprocessor,
      postprocessor: postprocessor, tuned: tuned)
  }
}
