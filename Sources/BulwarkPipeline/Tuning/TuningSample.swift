import BulwarkCore
import BulwarkData
import BulwarkDefenses

/// The images a tuning run scores: a seeded, stratified sample of the clean set and of every
/// adversarial set, each split into a fit part (for fitted postprocessors) and an evaluation
/// part, with no image in both.
///
/// An adversarial set generated from the clean set (image `i` attacks clean image `i`) is
/// sampled and split with the clean set's indices, so that an image's clean and adversarial
/// versions fall in the same part and the worst case over such sets can be taken image by
/// image; a set read from a source is drawn on its own.
public struct TuningSample: Sendable {
  /// One adversarial set's part of the sample.
  public struct AdversarialPart: Sendable {
    /// The set's name.
    public var name: String
    /// Who made the set, with the budget, or its source.
    public var attacker: String
    /// Its images for fitting.
    public var fit: ImageBatch
    /// Its images for scoring.
    public var evaluation: ImageBatch
    /// Whether evaluation image `i` attacks clean evaluation image `i`.
    public var isPaired: Bool
  }

  /// Clean images for fitting.
  public var fitClean: ImageBatch
  /// Clean images for scoring.
  public var clean: ImageBatch
  /// Every adversarial set's part, in file order (at least one).
  public var adversarialSets: [AdversarialPart]
  /// Which images of the evaluation part the pipeline's detectors flag: the clean set's, then
  /// every adversarial set's (see `Tuner.flagging(_:)`); empty without detectors.
  var flaggedEvaluation: [[Bool]] = []
  /// Which images of the fit part they flag: `[clean, adversarial]`; empty without detectors.
  var flaggedFit: [[Bool]] = []
  /// Seconds per image each detector took on the evaluation part.
  var detectorSeconds: [Double] = []

  /// A configuration's table for evaluation set `set` (0 the clean set, then the adversarial
  /// sets), abstaining on the images a detector flags.
  func abstaining(_ table: Probabilities, evaluationSet set: Int) -> Probabilities {
    flaggedEvaluation.isEmpty ? table : table.abstaining(on: flaggedEvaluation[set])
  }

  /// A configuration's table for fit set `set` (0 clean, 1 adversarial), abstaining on the
  /// images a detector flags.
  func abstaining(_ table: Probabilities, fitSet set: Int) -> Probabilities {
    flaggedFit.isEmpty ? table : table.abstaining(on: flaggedFit[set])
  }

  /// The adversarial images for fitting: every set's fit part, in set order.
  public var fitAdversarial: ImageBatch {
    var joined = adversarialSets[0].fit
    for set in adversarialSets.dropFirst() {
      joined.pixels += set.fit.pixels
      joined.labels += set.fit.labels
    }
    return joined
  }

  /// The first adversarial set's images for scoring (the only set of most pipelines).
  public var adversarial: ImageBatch { adversarialSets[0].evaluation }

  /// Draws the sample of a clean and one adversarial set.
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
    self.init(
      PipelineDescription.Data(
        clean: clean,
        adversarialSets: [
          .init(
            name: AdversarialSet.defaultName, images: adversarial, fromCache: nil,
            attacker: "given set", isPaired: paired)
        ]), count: count, fitFraction: fitFraction, seed: seed)
  }

  /// Draws the sample of a clean set and every adversarial set.
  /// - Parameters:
  ///   - data: The clean set and the adversarial sets.
  ///   - count: Images to draw from each set (all of a smaller set).
  ///   - fitFraction: The share of the sample kept for fitting, in [0, 1).
  ///   - seed: The seed of the draw.
  public init(_ data: PipelineDescription.Data, count: Int, fitFraction: Double, seed: UInt64) {
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
    // Paired sets share the clean set's draw over the images every paired set covers.
    let shared = data.adversarialSets.filter(\.isPaired).map(\.images.count).min()
    let cleanParts = draw(Array(data.clean.labels.prefix(shared ?? data.clean.count)), seed: seed)
    fitClean = data.clean.selecting(cleanParts.fit)
    clean = data.clean.selecting(cleanParts.evaluation)
    adversarialSets = data.adversarialSets.enumerated().map { index, set in
      let parts =
        set.isPaired
        ? cleanParts : draw(set.images.labels, seed: seed &+ 1 &+ UInt64(index))
      return AdversarialPart(
        name: set.name, attacker: set.attacker, fit: set.images.selecting(parts.fit),
        evaluation: set.images.selecting(parts.evaluation), isPaired: set.isPaired)
    }
  }
}
