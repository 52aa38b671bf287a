/// One adversarial set of a pipeline: its name in reports and where its images come from.
///
/// A pipeline file gives one source (`adversarial: "adv.npz"` or `{ attack: { … } }`, named
/// `adversarial`) or a list of named ones:
/// `[{ name: "pgd", attack: { … } }, { name: "saved", data: "adv.npz" }]`.
public struct AdversarialSet: Sendable, Equatable {
  /// The set's name in reports (`pgd`, `auto`).
  public var name: String
  /// Where its images come from.
  public var source: AdversarialSource

  /// Creates a set.
  /// - Parameters:
  ///   - name: The name in reports.
  ///   - source: A data source or an attack.
  public init(name: String, source: AdversarialSource) {
    self.name = name
    self.source = source
  }

  /// The attack settings of a set made against the pipeline itself (`against: "pipeline"`),
  /// else nil.
  public var adaptiveAttack: AttackSettings? {
    guard case .attack(let settings) = source, settings.against == .pipeline else { return nil }
    return settings
  }

  /// Whether the set is made against the pipeline itself (an adaptive attacker).
  public var isAdaptive: Bool { adaptiveAttack != nil }

  /// The name a single, unnamed set gets.
  public static let defaultName = "adversarial"
}
