/// An adversarial set the tuner makes against each configuration it re-ranks (a pipeline file's
/// set with `against: "pipeline"`): an adaptive attacker who knows the defense.
public struct AdaptiveAttack: Sendable {
  /// The set's name in reports (`auto`).
  public var name: String
  /// The attack, its budget and its seed.
  public var settings: AttackSettings

  /// Creates an adaptive set.
  /// - Parameters:
  ///   - name: The set's name.
  ///   - settings: The attack.
  public init(name: String, settings: AttackSettings) {
    self.name = name
    self.settings = settings
  }

  /// The pipeline file's sets made against the pipeline itself, in file order.
  /// - Parameter description: The pipeline file.
  /// - Returns: Its adaptive sets.
  public static func sets(of description: PipelineDescription) -> [AdaptiveAttack] {
    description.adversarialSets.compactMap { set in
      set.adaptiveAttack.map { AdaptiveAttack(name: set.name, settings: $0) }
    }
  }
}
