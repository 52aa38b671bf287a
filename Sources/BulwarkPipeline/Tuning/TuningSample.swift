import BulwarkCore
import BulwarkData

/// The images a tuning run scores: a seeded, stratified sample of the clean and of the
/// adversarial set, each split into a fit part (for fitted postprocessors) and an evaluation
/// part, with no image in both.
///
/// When the adversarial set was generated from the clean set (image `i` attacks clean image
/// `i`), both sets are sampled and split with the same indices, so that an image's clean and
/// adversarial versions fall in the same part.
public struct TuningSample: Sendable {
  /// Clean images for fitting.
  public var fitClean: ImageBatch
  /// Adversarial images for fitting.
  public var fitAdversarial: ImageBatch
  /// Clean images for scoring.
  public var clean: ImageBatch
  /// Adversarial images for scoring.
  public var adversarial: ImageBatch

  /// Draws the sample.
  /// - Parameters:
  ///   - clean: The clean set.
  ///   - adversarial: The adversarial set.
  ///   - paired: Whether adversarial image `i` is an attack on clean image `i`.
  ///   - count: Images to draw from each set (all of a smaller set).
  ///   - fitFraction: The share of the sample kept for fitting, in [0, 1).
  ///   - seed: The seed of the draw.
  public init(
    clean: ImageBatch, adversarial: ImageBatch, paired: Bool, count: Int, fitFraction: Double,
    seed: UInt64
  ) {
    func draw(_ labels: [Int], seed: UInt64) -> (fit: [Int], evaluation: [Int]) {
      let chosen = StratifiedSampler.sample(labels: labels, count: count, seed: seed)
      let fitCount = Int((Double(chosen.count) * fitFraction).rounded())
      let fitPositions = Set(
        StratifiedSampler.sample(
          labels: chosen.map { labels[$0] }, count: fitCount, seed: seed &+ 0x9E37_79B9))
      let fit = chosen.indices.filter { fitPositions.contains($0) }.map { chosen[$0] }
      let evaluation = chosen.indices.filter { !fitPositions.contains($0) }.map { chosen[$0] }
      return (fitCount == 0 ? [] : fit, evaluation)
    }
    if paired {
      let shared = min(clean.count, adversarial.count)
      let parts = draw(Array(clean.labels.prefix(shared)), seed: seed)
      fitClean = clean.selecting(parts.fit)
      fitAdversarial = adversarial.selecting(parts.fit)
      self.clean = clean.selecting(parts.evaluation)
      self.adversarial = adversarial.selecting(parts.evaluation)
    } else {
      let cleanParts = draw(clean.labels, seed: seed)
      let adversarialParts = draw(adversarial.labels, seed: seed &+ 1)
      fitClean = clean.selecting(cleanParts.fit)
      fitAdversarial = adversarial.selecting(adversarialParts.fit)
      self.clean = clean.selecting(cleanParts.evaluation)
      self.adversarial = adversarial.selecting(adversarialParts.evaluation)
    }
  }
}
