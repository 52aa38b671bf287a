import BulwarkData
import BulwarkModel

/// The attack that generates a pipeline's adversarial set from its clean set:
/// `{ method: "pgd", eps: 0.1, norm: "inf", steps: 40, stepSize: 0.01, seed: 0, limit: 1000 }`.
public struct AttackSettings: Decodable, Equatable, Sendable {
  /// The method names pipeline files accept.
  public static let methods = ["fgsm", "pgd", "bim"]

  /// `fgsm`, `pgd` (random start) or `bim` (pgd without it).
  public var method: String
  /// The radius of the perturbation ball.
  public var epsilon: Float
  /// The ball's norm (`inf` or `2`; fgsm is L-infinity only).
  public var norm: AttackNorm
  /// Steps of pgd and bim (default 40).
  public var steps: Int
  /// Step size of pgd and bim (default 2.5 eps / steps, as `bulwark attack`).
  public var stepSize: Float
  /// Seed of pgd's random start (default 0).
  public var seed: UInt64
  /// Attack only the first N clean images (default: all).
  public var limit: Int?

  enum CodingKeys: String, CodingKey {
    case method, eps, norm, steps, stepSize, seed, limit
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
    // Every key is read before any is judged, so that unknown keys are reported too.
    method = try container.decode(String.self, forKey: .method)
    epsilon = try container.decode(Float.self, forKey: .eps)
    let normName = try container.decodeIfPresent(String.self, forKey: .norm) ?? "inf"
    steps = try container.decodeIfPresent(Int.self, forKey: .steps) ?? 40
    let givenStepSize = try container.decodeIfPresent(Float.self, forKey: .stepSize)
    seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? 0
    limit = try container.decodeIfPresent(Int.self, forKey: .limit)
    guard Self.methods.contains(method) else {
      var message = "unknown attack '\(method)'"
      if let guess = closestMatch(to: method, among: Self.methods) {
        message += "; did you mean \(guess)?"
      }
      throw fail(.method, message + " (known: \(Self.methods.joined(separator: ", ")))")
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
    guard steps >= 1 else { throw fail(.steps, "must be an integer >= 1, got \(steps)") }
    stepSize = givenStepSize ?? 2.5 * epsilon / Float(steps)
    guard stepSize.isFinite, stepSize >= 0 else {
      throw fail(.stepSize, "must be a finite number >= 0, got \(stepSize)")
    }
    if let limit, limit < 1 { throw fail(.limit, "must be an integer >= 1, got \(limit)") }
  }

  /// The attack these settings describe.
  public var attack: any Attack {
    switch method {
    case "fgsm": FGSM(epsilon: epsilon)
    case "bim": PGD.bim(norm: norm, epsilon: epsilon, stepSize: stepSize, steps: steps)
    default:
      PGD(
        norm: norm, epsilon: epsilon, stepSize: stepSize, steps: steps, randomStart: true,
        seed: seed)
    }
  }

  /// Every setting that changes the result, as one line for cache keys.
  var identity: String {
    let usesSteps = method != "fgsm"
    return "method=\(method) eps=\(epsilon.bitPattern) norm=\(norm.rawValue)"
      + (usesSteps ? " steps=\(steps) stepSize=\(stepSize.bitPattern)" : "")
      + (method == "pgd" ? " seed=\(seed)" : "") + " limit=\(limit.map(String.init) ?? "all")"
  }
}
