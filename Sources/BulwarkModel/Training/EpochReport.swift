/// What one training epoch achieved.
public struct EpochReport: Equatable, Sendable {
  /// The epoch's index, from 0.
  public var epoch: Int
  /// The mean training loss over the epoch's images, each measured before its step: the
  /// cross-entropy (on soft targets, or the TRADES loss, as the trainer trains), or an
  /// autoencoder's reconstruction loss with its KL term.
  public var loss: Double
  /// The fraction of the epoch's clean images classified correctly before their step.
  public var accuracy: Double
  /// With adversarial training, the fraction of the adversarial images classified correctly
  /// before their step; nil otherwise.
  public var adversarialAccuracy: Double?
  /// Images processed (forward, backward and update) per second.
  public var imagesPerSecond: Double
  /// Wall-clock seconds.
  public var seconds: Double
}
