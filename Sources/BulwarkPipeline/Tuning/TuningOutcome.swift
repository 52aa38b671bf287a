import BulwarkDefenses
import Foundation

/// What a tuning run found: every configuration ranked, the best few re-scored on the full sets,
/// and the winner.
public struct TuningOutcome: Sendable {
  /// Every scored configuration, best first (see `Tuner.ranked(_:)`).
  public var ranked: [TuningResult]
  /// The configurations re-scored on the full sets (without the sample's fit part for those
  /// with a fitted postprocessor), in sample rank order.
  public var rescored: [TuningResult]
  /// The best of `rescored` by the objective on the full sets (ties: the better sample rank).
  public var winner: TuningResult
  /// The winner's configuration.
  public var winnerCandidate: TuningCandidate
  /// The winner's classifier model when the search compares classifiers; nil when it keeps the
  /// file's.
  public var winnerModel: URL? = nil
  /// The winner's postprocessors, a fitted one fitted on the sample's fit part.
  public var winnerPostprocessors: [any Postprocessor]
  /// The winner's fitted postprocessor and what it learnt from, if it has one.
  public var fit: Fit?
  /// The classifier work and configurations scored in this run.
  public var statistics: Tuner.Statistics
  /// Images in the sample's evaluation part and fit part (clean + adversarial).
  public var sampleImages: (evaluation: Int, fit: Int)
  /// Images of the full sets the winner was scored on.
  public var fullImages: (clean: Int, adversarial: Int)
  /// Images left out of the full sets for the winner because its fitted postprocessor learnt
  /// from them (0 without one).
  public var excludedImages: (clean: Int, adversarial: Int)

  /// A fitted postprocessor of the winner and the images it learnt from.
  public struct Fit: Sendable {
    /// The fitted stage.
    public var stage: any FittedPostprocessor
    /// Fingerprints of the sample's fit part, clean (see `FitRecord`).
    public var cleanFingerprints: [UInt64]
    /// Fingerprints of the sample's fit part, adversarial.
    public var adversarialFingerprints: [UInt64]
    /// The winner's accuracy on the fit part.
    public var trainingAccuracy: Double
    /// Seconds spent computing the fit part's passes and fitting.
    public var seconds: Double
  }
}
