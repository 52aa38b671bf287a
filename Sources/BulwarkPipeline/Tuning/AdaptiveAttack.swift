import BulwarkData
import BulwarkModel

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

  /// Attacks a pipeline on clean images (the first `limit` of them, if the set has one), the
  /// gradients averaged over `eot` draws of its randomised stages.
  /// - Parameters:
  ///   - clean: The clean labelled images.
  ///   - pipeline: The defended pipeline under attack.
  ///   - progress: Called with images done and the total.
  /// - Returns: The adversarial images, with the true labels.
  /// - Throws: Errors from the attack, the stages and the classifier.
  public func perturb(
    _ clean: ImageBatch, against pipeline: Pipeline, progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> ImageBatch {
    let images = settings.limit.map { clean.prefix(min($0, clean.count)) } ?? clean
    return try AttackRun.perturb(
      images, with: settings.attack,
      classifier: ExpectationOverTransformation(pipeline, samples: settings.eot),
      progress: progress)
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
