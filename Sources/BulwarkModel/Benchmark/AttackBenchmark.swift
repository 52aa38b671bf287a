import BulwarkCore
import BulwarkData

/// Throughput of attacks, for `bulwark bench attack`. Run it in a release build.
public enum AttackBenchmark {
  /// A throughput measurement of one attack run.
  public struct Measurement: Equatable, Sendable {
    /// Images attacked per second.
    public var imagesPerSecond: Double
    /// Images the classifier still classifies correctly afterwards.
    public var robust: Int
    /// The images attacked.
    public var images: Int
    /// The seconds the run took.
    public var seconds: Double
    /// The sum of the adversarial pixels, kept so the work cannot be optimised away.
    public var checksum: Float
  }

  /// Times one run of an attack on a batch.
  /// - Parameters:
  ///   - attack: The attack.
  ///   - classifier: The classifier under attack.
  ///   - batch: The images and labels.
  /// - Returns: The rate, the images left robust and a checksum.
  /// - Throws: Errors from the attack or the classifier.
  public static func measure(
    _ attack: any Attack, classifier: any Classifier, batch: ImageBatch
  ) throws -> Measurement {
    let clock = ContinuousClock()
    let start = clock.now
    let adversarial = try attack.perturb(batch, classifier: classifier, targets: nil)
    let seconds = (clock.now - start).inSeconds
    let robust = try classifier.attackSucceeded(on: adversarial, targets: nil).count { !$0 }
    return Measurement(
      imagesPerSecond: Double(batch.count) / max(seconds, 1e-9), robust: robust,
      images: batch.count, seconds: seconds, checksum: adversarial.pixels.reduce(0, +))
  }
}
