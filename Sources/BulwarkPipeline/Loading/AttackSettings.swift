import BulwarkData
import BulwarkModel

/// The attack that generates a pipeline's adversarial set from its clean set:
/// `{ method: "pgd", eps: 0.1, norm: "inf", steps: 40, stepSize: 0.01, seed: 0, limit: 1000 }`.
///
/// `against` names what the attacker knows: `"classifier"` (the default) attacks the undefended
/// classifier and feeds the result to the defense, an oblivious attacker whose set is cached once
/// per classifier; `"pipeline"` attacks this very pipeline through every stage (BPDA for stages
/// without a gradient, expectation over `eot` draws of randomised ones, the Square Attack and
/// HopSkipJump through the outputs alone), an adaptive attacker whose set is cached per
/// configuration. Every figure from a set names its attacker and budget (see `summary`).
public struct AttackSettings: Decodable, Equatable, Sendable {
  /// What the attacker targets.
  public enum Target: String, Sendable, Equatable, CaseIterable {
    /// The undefended classifier: an oblivious attacker.
    case classifier
    /// The whole defended pipeline: an adaptive attacker.
    case pipeline
  }

  /// The method names pipeline files accept.
  public static let methods = [
    "fgsm", "pgd", "bim", "apgd-ce", "apgd-dlr", "apgd-t", "square", "hopskipjump", "auto",
  ]

  /// `fgsm`, `pgd` (random start), `bim` (pgd without it), `apgd-ce`, `apgd-dlr`, `apgd-t`,
  /// `square`, `hopskipjump` or `auto` (APGD-CE, APGD-T, Square; see `AutoAttack`).
  public var method: String
  /// The radius of the perturbation ball.
  public var epsilon: Float
  /// The ball's norm (`inf` or `2`; fgsm is L-infinity only).
  public var norm: AttackNorm
  /// Steps of pgd and bim (default 40), iterations of APGD and `auto` (default 100) and of
  /// HopSkipJump (default 40).
  public var steps: Int
  /// Step size of pgd and bim (default 2.5 eps / steps, as `bulwark attack`).
  public var stepSize: Float
  /// Seed of every random draw (default 0).
  public var seed: UInt64
  /// Attack only the first N clean images (default: all).
  public var limit: Int?
  /// pgd and bim: stop each image at its first misclassification (default false).
  public var stopAtMisclassification: Bool
  /// APGD restarts (default 1).
  public var restarts: Int
  /// Target classes of APGD-T and `auto` (default 9).
  public var targetClasses: Int
  /// Query budget per image of square, hopskipjump and `auto`'s Square Attack (default 5,000).
  public var queries: Int
  /// What the attacker targets (default the classifier).
  public var against: Target
  /// Draws of the pipeline's randomised stages averaged per gradient (EOT; default 1; only
  /// against the pipeline).
  public var eot: Int

  enum CodingKeys: String, CodingKey {
    case method, eps, norm, steps, stepSize, seed, limit, stopAtMisclassification, restarts
    case targetClasses, queries, against, eot
  }

  /// Decodes and validates the settings.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `PipelineError` naming the key for unknown methods or out-of-range values.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    func fail(_ key: CodingKeys, _ message: String) -> PipelineError {
      let file = (decoder as? JSONValueDecoder)?.file ?? "pipeline"
      return PipelineError(
        file: file, path: render(decoder.codingPath + [key]), message: message)
    }
    func choice(_ key: CodingKeys, _ value: String, among names: [String]) -> PipelineError {
      var message = "unknown \(key.rawValue) '\(value)'"
      if let guess = closestMatch(to: value, among: names) { message += "; did you mean \(guess)?" }
      return fail(key, message + " (known: \(names.joined(separator: ", ")))")
    }
    // Every key is read before any is judged, so that unknown keys are reported too.
    method = try container.decode(String.self, forKey: .method)
    epsilon = try container.decode(Float.self, forKey: .eps)
    let normName = try container.decodeIfPresent(String.self, forKey: .norm) ?? "inf"
    let givenSteps = try container.decodeIfPresent(Int.self, forKey: .steps)
    let givenStepSize = try container.decodeIfPresent(Float.self, forKey: .stepSize)
    seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
    limit = try container.decodeIfPresent(Int.self, forKey: .limit)
    stopAtMisclassification =
      try container.decodeIfPresent(Bool.self, forKey: .stopAtMisclassification) ?? false
    restarts = try container.decodeIfPresent(Int.self, forKey: .restarts) ?? 1
    targetClasses = try container.decodeIfPresent(Int.self, forKey: .targetClasses) ?? 9
    queries = try container.decodeIfPresent(Int.self, forKey: .queries) ?? 5_000
    let targetName = try container.decodeIfPresent(String.self, forKey: .against) ?? "classifier"
    eot = try container.decodeIfPresent(Int.self, forKey: .eot) ?? 1
    guard Self.methods.contains(method) else {
      throw choice(.method, method, among: Self.methods)
    }
    guard epsilon.isFinite, epsilon >= 0 else {
      throw fail(.eps, "must be a finite number >= 0, got \(epsilon)")
    }
    guard let norm = AttackNorm(rawValue: normName) else {
      throw fail(.norm, "must be \"inf\" or \"2\", got \"\(normName)\"")
    }
    if method == "fgsm" && norm == .l2 {
      throw fail(.norm, "fgsm is an L-infinity attack; use pgd or bim with norm \"2\"")
    }
    self.norm = norm
    steps = givenSteps ?? (method.hasPrefix("apgd") || method == "auto" ? 100 : 40)
    guard steps >= 1 else { throw fail(.steps, "must be an integer >= 1, got \(steps)") }
    stepSize = givenStepSize ?? 2.5 * epsilon / Float(steps)
    guard stepSize.isFinite, stepSize >= 0 else {
      throw fail(.stepSize, "must be a finite number >= 0, got \(stepSize)")
    }
    if let limit, limit < 1 { throw fail(.limit, "must be an integer >= 1, got \(limit)") }
    if stopAtMisclassification, !["pgd", "bim"].contains(method) {
      throw fail(.stopAtMisclassification, "applies to pgd and bim only, not \(method)")
    }
    guard restarts >= 1 else { throw fail(.restarts, "must be an integer >= 1, got \(restarts)") }
    guard targetClasses >= 1 else {
      throw fail(.targetClasses, "must be an integer >= 1, got \(targetClasses)")
    }
    guard queries >= 1 else { throw fail(.queries, "must be an integer >= 1, got \(queries)") }
    guard let against = Target(rawValue: targetName) else {
      throw choice(.against, targetName, among: Target.allCases.map(\.rawValue))
    }
    self.against = against
    guard eot >= 1 else { throw fail(.eot, "must be an integer >= 1, got \(eot)") }
    if eot > 1, against != .pipeline {
      throw fail(.eot, "averages the pipeline's random draws; it needs against: \"pipeline\"")
    }
  }

  /// The attack these settings describe.
  public var attack: any Attack {
    switch method {
    case "fgsm":
      FGSM(epsilon: epsilon)
    case "bim":
      PGD(
        norm: norm, epsilon: epsilon, stepSize: stepSize, steps: steps, randomStart: false,
        stopAtMisclassification: stopAtMisclassification)
    case "apgd-ce", "apgd-dlr":
      APGD(
        norm: norm, epsilon: epsilon, steps: steps, restarts: restarts,
        loss: method == "apgd-ce" ? .crossEntropy : .dlr, seed: seed)
    case "apgd-t":
      APGDTargeted(
        norm: norm, epsilon: epsilon, steps: steps, targetClasses: targetClasses, seed: seed)
    case "square":
      SquareAttack(norm: norm, epsilon: epsilon, queries: queries, seed: seed)
    case "hopskipjump":
      HopSkipJump(norm: norm, epsilon: epsilon, iterations: steps, queries: queries, seed: seed)
    case "auto":
      AutoAttack(
        norm: norm, epsilon: epsilon, steps: steps, targetClasses: targetClasses,
        queries: queries, seed: seed)
    default:
      PGD(
        norm: norm, epsilon: epsilon, stepSize: stepSize, steps: steps, randomStart: true,
        seed: seed, stopAtMisclassification: stopAtMisclassification)
    }
  }

  /// Whether the method follows gradients (and so sees BPDA and EOT through the pipeline).
  var followsGradients: Bool { !["square", "hopskipjump"].contains(method) }

  /// The attacker and budget in words, for every figure made from the set:
  /// `adaptive auto (L-inf eps 0.1, 100 steps, 1000 queries, EOT 1)`.
  public var summary: String {
    let budget: [String] =
      switch method {
      case "fgsm": []
      case "square": ["\(queries) queries"]
      case "hopskipjump": ["\(steps) iterations", "\(queries) queries"]
      case "auto": ["\(steps) steps", "\(queries) queries"]
      case "apgd-ce", "apgd-dlr", "apgd-t": ["\(steps) steps", "\(restarts) restart(s)"]
      default: ["\(steps) steps of \(stepSize)"]
      }
    let attacker = against == .pipeline ? "adaptive" : "oblivious"
    let eotText = against == .pipeline && followsGradients ? ["EOT \(eot)"] : []
    let ball = "\(norm == .infinity ? "L-inf" : "L2") eps \(epsilon)"
    return "\(attacker) \(method) (" + ([ball] + budget + eotText).joined(separator: ", ") + ")"
  }

  /// Every setting that changes the result, as one line for cache keys (the settings of the
  /// first attacks keep their earlier form, so existing caches stay valid).
  var identity: String {
    let usesSteps = method != "fgsm"
    var line =
      "method=\(method) eps=\(epsilon.bitPattern) norm=\(norm.rawValue)"
      + (usesSteps ? " steps=\(steps) stepSize=\(stepSize.bitPattern)" : "")
      + (method == "pgd" ? " seed=\(seed)" : "") + " limit=\(limit.map(String.init) ?? "all")"
    if !["fgsm", "pgd", "bim"].contains(method) {
      line +=
        " seed=\(seed) restarts=\(restarts) targetClasses=\(targetClasses) queries=\(queries)"
    }
    if stopAtMisclassification { line += " stopAtMisclassification=true" }
    if against == .pipeline { line += " against=pipeline eot=\(eot)" }
    return line
  }
}
