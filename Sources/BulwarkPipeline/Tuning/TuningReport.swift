import BulwarkCore
import BulwarkData
import BulwarkDefenses
import Foundation

/// Writes a tuning run's results into its folder: `results.json`, `results.csv`, SVG plots of
/// every tuned parameter and `best.json5`, the winner as a pipeline file `bulwark score` runs.
public struct TuningReport: Sendable {
  /// The run's outcome.
  public var outcome: TuningOutcome
  /// The search space it explored.
  public var space: SearchSpace
  /// The pipeline file it came from.
  public var description: PipelineDescription

  /// Creates a report.
  /// - Parameters:
  ///   - outcome: The run's outcome.
  ///   - space: The search space.
  ///   - description: The pipeline file.
  public init(outcome: TuningOutcome, space: SearchSpace, description: PipelineDescription) {
    self.outcome = outcome
    self.space = space
    self.description = description
  }

  /// The ranking as text lines: rank, objective with its 95% bootstrap interval, accuracies
  /// (with several adversarial sets, each set's and the worst case; with the stealing
  /// objective, the student's accuracy and agreement), abstentions, time and configuration. A
  /// configuration whose interval overlaps the winner's is marked as a tie; one the sets made
  /// against each configuration never attacked is marked too, since its worst case is only an
  /// upper bound.
  /// - Parameter count: Rows to show (the best first).
  /// - Returns: A header and one line per configuration.
  public func table(count: Int) -> [String] {
    let setNames = setColumns
    let stealing = space.stealing != nil
    var header = "Rank  Objective  95% interval      Clean   "
    if stealing { header += "Student Agree   " }
    header += setNames.map { pad(String($0.prefix(7)), 8) }.joined()
    if setNames.count > 1 { header += "Worst   " }
    header += "HM      Abst.  us/img   Configuration"
    let rows = outcome.ranked.prefix(count).enumerated().map { rank, result in
      var columns = [
        pad("\(rank + 1)", 6), pad(format(result.value(of: space.objective)), 11),
        pad("[\(format(result.interval.lower)), \(format(result.interval.upper))]", 18),
        pad(format(result.clean.accuracy), 8),
      ]
      if stealing {
        columns += [
          pad(result.stealing.map { format($0.studentAccuracy.accuracy) } ?? "-", 8),
          pad(result.stealing.map { format($0.agreement.accuracy) } ?? "-", 8),
        ]
      }
      columns += setNames.map { name in
        pad(
          result.adversarialSets.first { $0.name == name }.map { format($0.counts.accuracy) }
            ?? "-", 8)
      }
      if setNames.count > 1 { columns.append(pad(format(result.adversarial.accuracy), 8)) }
      columns += [
        pad(format(result.harmonicMean), 8),
        pad("\(result.clean.abstentions + result.adversarial.abstentions)", 7),
        pad(String(format: "%.1f", result.secondsPerImage * 1e6), 9),
      ]
      return columns.joined() + result.key + marks(of: result)
    }
    return [header] + rows
  }

  /// The adversarial sets' names in the order results list them (the sets made once, then
  /// those made against each configuration).
  var setColumns: [String] {
    var names: [String] = []
    for result in outcome.ranked {
      for set in result.adversarialSets where !names.contains(set.name) { names.append(set.name) }
    }
    return names
  }

  /// Whether a configuration is statistically tied with the winner: both faced the same sets
  /// and their objective intervals on the sample overlap.
  /// - Parameter result: A ranked configuration.
  /// - Returns: True for a configuration other than the winner, attacked adaptively exactly when
  ///   the winner was, whose interval overlaps the winner's.
  public func isTied(_ result: TuningResult) -> Bool {
    result.key != outcome.winner.key && result.interval.overlaps(outcome.winner.interval)
      && result.attackedAdaptively == outcome.winner.attackedAdaptively
  }

  /// ` (tie)`, ` (fails a constraint)`, ` (not attacked adaptively)`, as they apply.
  private func marks(of result: TuningResult) -> String {
    var marks: [String] = []
    if isTied(result) { marks.append("tie") }
    if !Tuner.feasible(result, in: space) { marks.append("fails a constraint") }
    if adaptiveSetsRan && !result.attackedAdaptively { marks.append("not attacked adaptively") }
    return marks.isEmpty ? "" : " (" + marks.joined(separator: ", ") + ")"
  }

  /// Whether the run attacked its leaders with sets made against each of them.
  private var adaptiveSetsRan: Bool { outcome.ranked.contains(where: \.attackedAdaptively) }

  /// Writes every result file into `folder`.
  /// - Parameter folder: The run folder.
  /// - Returns: The files written, `best.json5` last.
  /// - Throws: Encoding errors; `FileAccessError` when a file cannot be written.
  @discardableResult
  public func write(to folder: URL) throws -> [URL] {
    try FileAccess.createFolder(folder)
    var written: [URL] = []
    func save(_ name: String, _ text: String) throws {
      let url = folder.appendingPathComponent(name)
      try FileAccess.write(Data(text.utf8), to: url)
      written.append(url)
    }
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let summary = Summary(
      objective: space.objective.name, winner: outcome.winner.key,
      ties: outcome.ranked.filter(isTied).map(\.key),
      classifierPasses: outcome.statistics.classifierPasses, results: outcome.ranked)
    try save("results.json", String(decoding: try encoder.encode(summary), as: UTF8.self) + "\n")
    try save("results.csv", csv())
    for (name, text) in plots() { try save(name, text) }
    try linkCache(into: folder)
    if let model = try writeFit(into: folder) { written.append(model) }
    try save("best.json5", bestPipeline(for: folder))
    return written
  }

  private struct Summary: Encodable {
    var objective: String
    var winner: String
    /// Configurations whose objective interval on the sample overlaps the winner's.
    var ties: [String]
    var classifierPasses: Int
    var results: [TuningResult]
  }

  /// Every result as a CSV row, best first, with one column per tuned parameter.
  func csv() -> String {
    let names = Set(outcome.ranked.flatMap(\.parameters.keys)).sorted()
    let sets = setColumns
    let setHeaders = sets.flatMap { set in
      let column = set.map { $0.isLetter || $0.isNumber ? $0 : "_" }
      return ["\(String(column))_correct", "\(String(column))_total"]
    }
    var lines = [
      ([
        "rank", "index", "phase", "configuration", "clean_correct", "clean_total",
        "clean_accuracy", "adv_correct", "adv_total", "adv_accuracy", "harmonic_mean",
        "objective", "objective_lower", "objective_upper", "tie", "attacked_adaptively",
        "abstentions", "seconds_per_image", "feasible", "full_harmonic_mean",
        "student_correct", "student_total", "agreement_count", "agreement_total",
      ]
        + setHeaders + names).joined(separator: ",")
    ]
    for (rank, result) in outcome.ranked.enumerated() {
      let setFields = sets.flatMap { name -> [String] in
        guard let set = result.adversarialSets.first(where: { $0.name == name }) else {
          return ["", ""]
        }
        return ["\(set.counts.correct)", "\(set.counts.total)"]
      }
      let fields =
        [
          "\(rank + 1)", "\(result.index)", result.phase, quoteCSV(result.key),
          "\(result.clean.correct)", "\(result.clean.total)", "\(result.clean.accuracy)",
          "\(result.adversarial.correct)", "\(result.adversarial.total)",
          "\(result.adversarial.accuracy)", "\(result.harmonicMean)",
          "\(result.value(of: space.objective))", "\(result.interval.lower)",
          "\(result.interval.upper)", "\(isTied(result))", "\(result.attackedAdaptively)",
          "\(result.clean.abstentions + result.adversarial.abstentions)",
          "\(result.secondsPerImage)", "\(Tuner.feasible(result, in: space))",
          result.full.map { "\($0.harmonicMean)" } ?? "",
          result.stealing.map { "\($0.studentAccuracy.correct)" } ?? "",
          result.stealing.map { "\($0.studentAccuracy.total)" } ?? "",
          result.stealing.map { "\($0.agreement.correct)" } ?? "",
          result.stealing.map { "\($0.agreement.total)" } ?? "",
        ] + setFields + names.map { name in result.parameters[name].map(JSONValue.format) ?? "" }
      lines.append(fields.joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Two SVG charts per tuned parameter: accuracies and time against its value, each value
  /// showing the best configuration that has it.
  func plots() -> [(String, String)] {
    let names = Set(outcome.ranked.flatMap(\.parameters.keys)).sorted()
    return names.flatMap { name -> [(String, String)] in
      var best: [Double: TuningResult] = [:]
      for result in outcome.ranked {
        if let value = result.parameters[name], best[value] == nil { best[value] = result }
      }
      let values = best.keys.sorted()
      func series(
        _ label: String, _ measure: (TuningResult) -> Double,
        interval: (TuningResult) -> ConfidenceInterval? = { _ in nil }
      ) -> SVGPlot.Series {
        SVGPlot.Series(
          name: label,
          points: values.compactMap { value in
            best[value].map { result in
              (value, measure(result), interval(result).map { $0.lower...$0.upper })
            }
          })
      }
      let file = name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" }
      let adversarialName = setColumns.count > 1 ? "adversarial (worst case)" : "adversarial"
      let accuracy = SVGPlot(
        title: "Best configuration by \(name) (95% intervals)", xLabel: name,
        yLabel: "accuracy",
        series: [
          series("objective", { $0.value(of: space.objective) }, interval: \.interval),
          series("clean", \.clean.accuracy, interval: \.clean.interval),
          series(adversarialName, \.adversarial.accuracy, interval: \.adversarial.interval),
        ], yRange: 0...1)
      let time = SVGPlot(
        title: "Time per image by \(name)", xLabel: name, yLabel: "microseconds per image",
        series: [series("all stages", { $0.secondsPerImage * 1e6 })], yRange: nil)
      return [
        ("plot-\(String(file)).svg", accuracy.render()),
        ("plot-\(String(file))-time.svg", time.render()),
      ]
    }
  }

  /// The winner as a complete pipeline file: the original with the winning stages, without
  /// `tune`, and with every path made absolute so that it works from the run folder (a stage's
  /// own paths by its type's `RegisteredDefense.pathKeys`; a fitted detector names its fitted
  /// model instead of the data it was fitted on).
  func bestPipeline(for folder: URL) -> String {
    guard case .object(let members) = space.root else { return "" }
    let base = space.folder
    func absolute(_ value: JSONValue) -> JSONValue {
      guard case .string(let path) = value, BuiltinDataset.named(path) == nil else { return value }
      return .string(PipelineDescription.resolve(path, against: base).path)
    }
    func rewrite(_ value: JSONValue?, keys: [String]) -> JSONValue? {
      guard case .object(let inner)? = value else { return value }
      return .object(
        inner.map { member in
          keys.contains(member.key)
            ? JSONValue.Member(key: member.key, value: absolute(member.value)) : member
        })
    }
    func resolvingPaths(_ stage: JSONValue?) -> JSONValue? {
      guard case .string(let type)? = stage?["type"] else { return stage }
      return rewrite(stage, keys: space.registry.pathKeys(ofType: type))
    }
    func detector(_ entry: JSONValue, at index: Int) -> JSONValue {
      guard case .object(let members)? = resolvingPaths(entry) else { return entry }
      guard entry["threshold"] == nil,
        let fitting = description.fittings.first(where: { $0.position == .detector(index) })
      else { return .object(members) }
      return .object(
        members.filter { !SearchSpace.fittingKeys.contains($0.key) }
          + [.init(key: "model", value: .string(fitting.model.path))])
    }
    let candidate = outcome.winnerCandidate
    let fitted = outcome.fit != nil
    var result: [JSONValue.Member] = []
    for member in members where member.key != "tune" {
      switch member.key {
      case "classifier":
        var classifier = rewrite(member.value, keys: ["model"]) ?? .null
        if let model = outcome.winnerModel, case .object(let inner) = classifier {
          // The search compared classifiers: the winner's.
          classifier = .object(
            inner.map { $0.key == "model" ? .init(key: "model", value: .string(model.path)) : $0 })
        }
        result.append(.init(key: member.key, value: classifier))
      case "data":
        var data = rewrite(member.value, keys: ["clean", "adversarial"]) ?? .null
        if fitted, case .object(let inner) = data {
          data = .object(
            inner.filter { $0.key != "excludeFitted" }
              + [.init(key: "excludeFitted", value: .bool(true))])
        }
        result.append(.init(key: member.key, value: data))
      case "preprocessors", "postprocessors":
        continue
      case "detectors":
        guard case .array(let entries) = member.value else { fallthrough }
        let resolved = entries.enumerated().map { detector($0.element, at: $0.offset) }
        result.append(.init(key: member.key, value: .array(resolved)))
      default:
        result.append(member)
      }
    }
    result.append(
      .init(
        key: "preprocessors",
        value: .array(candidate.preprocessors.compactMap { resolvingPaths($0.json) })))
    let postprocessors = candidate.postprocessors.compactMap { choice -> JSONValue? in
      guard let stage = outcome.fit?.stage, choice.postprocessor is any FittedPostprocessor,
        case .object(let members)? = resolvingPaths(choice.json)
      else { return resolvingPaths(choice.json) }
      // The tuner fitted it on the sample, not on the stage's own `fit` data.
      let kept = members.filter { !SearchSpace.fittingKeys.contains($0.key) }
      return .object(kept + [.init(key: "model", value: .string(Self.modelName(for: stage)))])
    }
    result.append(.init(key: "postprocessors", value: .array(postprocessors)))
    let winner = outcome.winner
    var header = """
      // The best configuration `bulwark tune` found for \(description.file.lastPathComponent)
      // (objective \(space.objective.name)); on the sample's \(winner.clean.total) clean and \
      \(winner.adversarial.total) adversarial evaluation images:
      // clean \(format(winner.clean.accuracy)), adv \(format(winner.adversarial.accuracy))\
      \(winner.adversarialSets.count > 1 ? " (worst case)" : ""), objective \
      \(format(winner.value(of: space.objective))) \(winner.interval).

      """
    if let stage = outcome.fit?.stage {
      header +=
        "// Its \(Pipeline.name(of: stage)) was fitted on the sample's fit part "
        + "(\(outcome.sampleImages.fit) images), saved as\n// \(Self.modelName(for: stage)) with its "
        + ".fit.json record; data.excludeFitted leaves those\n// images out of the full sets "
        + "(\(outcome.excludedImages.clean) clean, \(outcome.excludedImages.adversarial) "
        + "adversarial).\n"
    }
    if let full = winner.full {
      let sets =
        full.adversarialSets.count == 1
        ? "Adv \(full.adversarial.correct) / \(full.adversarial.total)"
        : full.adversarialSets.map { "Adv \($0.name) \($0.score.correct) / \($0.score.total)" }
          .joined(separator: ", ")
          + (full.worstCase.map { ", Worst case \($0.correct) / \($0.total)" } ?? "")
      header +=
        "// Full sets: Clean \(full.clean.correct) / \(full.clean.total), \(sets), harmonic mean "
        + "\(format(full.harmonicMean)).\n"
    }
    if let stolen = winner.fullStealing {
      header +=
        "// A stealing student (\(stolen.answered) of \(stolen.queries) queries answered): "
        + "accuracy \(stolen.studentAccuracy.correct) / \(stolen.studentAccuracy.total), "
        + "agreement \(stolen.agreement.correct) / \(stolen.agreement.total) on the full clean "
        + "set.\n"
    }
    header +=
      "// Score it with: bulwark score \(folder.appendingPathComponent("best.json5").path)\n"
    return header + JSONValue.object(result).indentedText + "\n"
  }

  /// The winner's fitted model file in the run folder: `best.<stage>.<extension>`
  /// (`best.distribution-classifier.txt`).
  static func modelName(for stage: any FittedPostprocessor) -> String {
    FitSettings.modelFileName(for: stage, base: "best")
  }

  /// Writes the winner's fitted postprocessor beside `best.json5`: its model and its fit record
  /// with the fingerprints of the sample's fit part, so that `bulwark score best.json5` runs it
  /// and leaves those images out.
  /// - Returns: The model file, or nil when the winner has no fitted postprocessor.
  private func writeFit(into folder: URL) throws -> URL? {
    guard let fit = outcome.fit else { return nil }
    let settings = FitSettings(
      position: .postprocessor(0),
      model: folder.appendingPathComponent(Self.modelName(for: fit.stage)))
    let part = "the tuning sample's fit part"
    let record = FitRecord(
      stage: fit.stage, cleanSource: "\(description.clean.description), \(part)",
      adversarialSource: "\(PipelineDescription.describe(description.adversarial)), \(part)",
      cleanFingerprints: fit.cleanFingerprints,
      adversarialFingerprints: fit.adversarialFingerprints,
      trainingAccuracy: fit.trainingAccuracy, seconds: fit.seconds)
    try fit.stage.saveModel(to: settings.model)
    try record.write(to: settings.record)
    return settings.model
  }

  /// Links the pipeline's attack cache into the run folder, so that `best.json5` finds the
  /// adversarial set already generated.
  private func linkCache(into folder: URL) throws {
    guard case .attack = description.adversarial else { return }
    let link = folder.appendingPathComponent(".bulwark-cache")
    let target = description.cacheFolder
    guard link.standardizedFileURL.path != target.standardizedFileURL.path,
      (try? FileManager.default.destinationOfSymbolicLink(atPath: link.path)) == nil,
      !FileManager.default.fileExists(atPath: link.path)
    else { return }
    try FileManager.default.createSymbolicLink(
      atPath: link.path, withDestinationPath: target.standardizedFileURL.path)
  }

  private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text.padding(toLength: width, withPad: " ", startingAt: 0)
  }

  private func format(_ value: Double) -> String { String(format: "%.4f", value) }

  private func quoteCSV(_ text: String) -> String {
    "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}
