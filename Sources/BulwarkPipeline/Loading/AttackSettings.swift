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

  /// A setting out of range, by its key in pipeline files; a pipeline file names its path, a
  /// command line its flag.
  public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The setting's key in pipeline files (`eps`, `stepSize`).
    public var key: String
    /// What is wrong (`must be a finite number >= 0, got -1.0`).
    public var message: String

    /// `key: message`.
    public var description: String { "\(key): \(message)" }
  }

  /// Creates and validates settings; every setting left nil takes its default.
  /// - Parameters:
  ///   - method: One of `methods`.
  ///   - epsilon: The ball's radius, finite and at least 0.
  ///   - norm: The ball's norm (default L-infinity).
  ///   - steps: Steps or iterations (default 40 for pgd and bim, 100 for APGD and `auto`).
  ///   - stepSize: pgd's and bim's step (default 2.5 eps / steps).
  ///   - seed: The seed (default 0).
  ///   - limit: Attack only the first N images (default all).
  ///   - stopAtMisclassification: pgd and bim stop each image at its first success.
  ///   - restarts: APGD restarts (default 1).
  ///   - targetClasses: APGD-T's and `auto`'s target classes (default 9).
  ///   - queries: The query budget of square, hopskipjump and `auto` (default 5,000).
  ///   - against: What the attacker targets (default the classifier).
  ///   - eot: Draws per gradient against a randomised pipeline (default 1).
  /// - Throws: `Problem` naming the first setting out of range.
  public init(
    method: String, epsilon: Float, norm: AttackNorm = .infinity, steps: Int? = nil,
    stepSize: Float? = nil, seed: UInt64 = 0, limit: Int? = nil,
    stopAtMisclassification: Bool = false, restarts: Int = 1, targetClasses: Int = 9,
    queries: Int = 5_000, against: Target = .classifier, eot: Int = 1
  ) throws(Problem) {
    func fail(_ key: String, _ message: String) -> Problem { Problem(key: key, message: message) }
    guard Self.methods.contains(method) else {
      var message = "unknown attack '\(method)'"
      if let guess = closestMatch(to: method, among: Self.methods) {
        message += "; did you mean \(guess)?"
      }
      throw fail("method", message + " (known: \(Self.methods.joined(separator: ", ")))")
    }
    guard epsilon.isFinite, epsilon >= 0 else {
      throw fail("eps", "must be a finite number >= 0, got \(epsilon)")
    }
    if method == "fgsm" && norm == .l2 {
      throw fail("norm", "fgsm is an L-infinity attack; use pgd or bim with norm \"2\"")
    }
    let steps = steps ?? (method.hasPrefix("apgd") || method == "auto" ? 100 : 40)
    guard steps >= 1 else { throw fail("steps", "must be an integer >= 1, got \(steps)") }
    let stepSize = stepSize ?? 2.5 * epsilon / Float(steps)
    guard stepSize.isFinite, stepSize >= 0 else {
      throw fail("stepSize", "must be a finite number >= 0, got \(stepSize)")
    }
    if let limit, limit < 1 { throw fail("limit", "must be an integer >= 1, got \(limit)") }
    if stopAtMisclassification, !["pgd", "bim"].contains(method) {
      throw fail("stopAtMisclassification", "applies to pgd and bim only, not \(method)")
    }
    guard restarts >= 1 else { throw fail("restarts", "must be an integer >= 1, got \(restarts)") }
    guard targetClasses >= 1 else {
      throw fail("targetClasses", "must be an integer >= 1, got \(targetClasses)")
    }
    guard queries >= 1 else { throw fail("queries", "must be an integer >= 1, got \(queries)") }
    guard eot >= 1 else { throw fail("eot", "must be an integer >= 1, got \(eot)") }
    if eot > 1, against != .pipeline {
      throw fail("eot", "averages the pipeline's random draws; it needs against: \"pipeline\"")
    }
    self.method = method
    self.epsilon = epsilon
    self.norm = norm
    self.steps = steps
    self.stepSize = stepSize
    self.seed = seed
    self.limit = limit
    self.stopAtMisclassification = stopAtMisclassification
    self.restarts = restarts
    self.targetClasses = targetClasses
    self.queries = queries
    self.against = against
    self.eot = eot
  }

  /// Decodes and validates the settings.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `PipelineError` naming the key for unknown methods or out-of-range values.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let file = (decoder as? JSONValueDecoder)?.file ?? "pipeline"
    func fail(_ key: String, _ message: String) -> PipelineError {
      PipelineError(
        file: file, path: render(decoder.codingPath + [PathKey(stringValue: key)]),
        message: message)
    }
    // Every key is read before any is judged, so that unknown keys are reported too.
    let method = try container.decode(String.self, forKey: .method)
    let epsilon = try container.decode(Float.self, forKey: .eps)
    let normName = try container.decodeIfPresent(String.self, forKey: .norm) ?? "inf"
    let steps = try container.decodeIfPresent(Int.self, forKey: .steps)
    let stepSize = try container.decodeIfPresent(Float.self, forKey: .stepSize)
    let seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
    let limit = try container.decodeIfPresent(Int.self, forKey: .limit)
    let stop = try container.decodeIfPresent(Bool.self, forKey: .stopAtMisclassification)
    let restarts = try container.decodeIfPresent(Int.self, forKey: .restarts) ?? 1
    let targetClasses = try container.decodeIfPresent(Int.self, forKey: .targetClasses) ?? 9
    let queries = try container.decodeIfPresent(Int.self, forKey: .queries) ?? 5_000
    let targetName = try container.decodeIfPresent(String.self, forKey: .against) ?? "classifier"
    let eot = try container.decodeIfPresent(Int.self, forKey: .eot) ?? 1
    guard let norm = AttackNorm(rawValue: normName) else {
      throw fail("norm", "must be \"inf\" or \"2\", got \"\(normName)\"")
    }
    guard let against = Target(rawValue: targetName) else {
      var message = "unknown against '\(targetName)'"
      let names = Target.allCases.map(\.rawValue)
      if let guess = closestMatch(to: targetName, among: names) {
        message += "; did you mean \(guess)?"
      }
      throw fail("against", message + " (known: \(names.joined(separator: ", ")))")
    }
    do {
      try self.init(
        method: method, epsilon: epsilon, norm: norm, steps: steps, stepSize: stepSize,
        seed: seed, limit: limit, stopAtMisclassification: stop ?? false, restarts: restarts,
        targetClasses: targetClasses, queries: queries, against: against, eot: eot)
    } catch {
      throw fail(error.key, error.message)
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
