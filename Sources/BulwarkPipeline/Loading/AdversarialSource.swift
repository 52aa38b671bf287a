import BulwarkData

/// Where a pipeline's adversarial images come from.
public enum AdversarialSource: Sendable, Equatable {
  /// A labelled set on disk (an `.npz` file, a folder, …).
  case data(DataSource)
  /// An attack run on the clean set, cached by a hash of its inputs.
  case attack(AttackSettings)
}
