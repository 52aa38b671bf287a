import Foundation

/// MindSpore Armour's `DefenseEvaluate` metrics of a defended classifier against the same
/// classifier undefended, on one labelled set (definitions from its `defense_evaluation.py`).
public struct DefenseEvaluation: Codable, Equatable, Sendable {
  /// Classification accuracy variance: (defended correct - undefended correct) / n.
  public var cav: Double
  /// Classification rectify ratio: share of samples the defense gets right and the undefended
  /// classifier gets wrong.
  public var crr: Double
  /// Classification sacrifice ratio: share of samples the defense gets wrong and the undefended
  /// classifier gets right.
  public var csr: Double
  /// Classification confidence variance: mean |max defended probability - max undefended
  /// probability| over samples both get right; nil when there are none (MindSpore: -1).
  public var ccv: Double?
  /// Classification output stability: mean Jensen-Shannon divergence between the defended and
  /// undefended probability rows over samples both get right (natural logarithm); nil when
  /// there are none (MindSpore: -1).
  public var cos: Double?

  /// Creates the metrics from their values.
  /// - Parameters:
  ///   - cav: Accuracy change.
  ///   - crr: Rectified share.
  ///   - csr: Sacrificed share.
  ///   - ccv: Mean confidence change, or nil.
  ///   - cos: Mean Jensen-Shannon divergence, or nil.
  public init(cav: Double, crr: Double, csr: Double, ccv: Double?, cos: Double?) {
    self.cav = cav
    self.crr = crr
    self.csr = csr
    self.ccv = ccv
    self.cos = cos
  }

  /// The Jensen-Shannon divergence 0.5 KL(d || m) + 0.5 KL(r || m), m = (d + r) / 2, with
  /// `scipy.stats.entropy`'s semantics: each argument is normalised to sum 1 first, terms with
  /// a zero in the first argument count 0.
  /// - Parameters:
  ///   - defended: One probability row (it need not sum to 1).
  ///   - raw: Another row of the same length.
  /// - Returns: The divergence, natural logarithm.
  public static func jensenShannon(
    _ defended: some Collection<Float>, _ raw: some Collection<Float>
  ) -> Double {
    let d = defended.map(Double.init)
    let r = raw.map(Double.init)
    let m = zip(d, r).map { ($0 + $1) / 2 }
    return 0.5 * kullbackLeibler(d, m) + 0.5 * kullbackLeibler(r, m)
  }

  private static func kullbackLeibler(_ p: [Double], _ q: [Double]) -> Double {
    let pSum = p.reduce(0, +)
    let qSum = q.reduce(0, +)
    var total = 0.0
    for (pi, qi) in zip(p, q) where pi > 0 {
      let pn = pi / pSum
      let qn = qi / qSum
      total += qn > 0 ? pn * Foundation.log(pn / qn) : .infinity
    }
    return total
  }
}
