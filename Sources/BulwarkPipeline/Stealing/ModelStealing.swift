import BulwarkCore
import BulwarkData
import BulwarkDefenses
import BulwarkModel
import Foundation

/// Model stealing against a defended pipeline, the threat ART's output postprocessors (reverse
/// sigmoid, rounding, class labels, noise, high confidence) are designed for: CopycatCNN
/// (Correia-Silva et al. 2018) queries the victim on unlabelled images and trains a student of
/// its own architecture on the answers; its probabilistic variant (ART's `CopycatCNN` with
/// `use_probability=True`) learns the returned probabilities rather than their top class.
///
/// The attacker sees only the pipeline's output: an abstained query (an all-zero row) teaches
/// nothing and is dropped. A returned row that does not sum to 1 (rounded, noisy) is divided by
/// its sum before the probabilistic student learns it. The student trains with Bulwark's trainer
/// (Adam), seeded: the same seed gives the same student whatever the thread count.
public struct ModelStealing: Sendable {
  /// What the student learns from each answer.
  public enum Variant: String, Codable, Sendable, CaseIterable {
    /// CopycatCNN: the victim's top class.
    case labels
    /// The probabilistic variant: the victim's returned probabilities.
    case probabilities
  }

  /// The student architectures `bulwark steal` and the tuner's stealing objective name:
  /// `lenet5` (28x28x1) and `rgb-cnn` (64x64x3).
  public static let studentArchitectures = ["lenet5", "rgb-cnn"]

  /// A student architecture by its name.
  /// - Parameters:
  ///   - name: One of `studentArchitectures`.
  ///   - classes: The victim's class count.
  /// - Returns: The architecture, or nil for another name.
  public static func student(named name: String, classes: Int) -> Architecture? {
    switch name {
    case "lenet5": .lenet5(classes: classes)
    case "rgb-cnn": .rgbCNN(classes: classes)
    default: nil
    }
  }

  /// What the student learns from each answer.
  public var variant: Variant
  /// The student's architecture.
  public var architecture: Architecture
  /// Training epochs over the answered queries.
  public var epochs: Int
  /// Images per training step.
  public var batchSize: Int
  /// Adam's learning rate.
  public var learningRate: Double
  /// The seed of the student's weights and of its training.
  public var seed: UInt64

  /// Creates a stealing attack.
  /// - Parameters:
  ///   - variant: Labels (CopycatCNN) or probabilities.
  ///   - architecture: The student's architecture; its input and classes must be the victim's.
  ///   - epochs: Training epochs, at least 1.
  ///   - batchSize: Images per step, at least 1.
  ///   - learningRate: Adam's step size, > 0.
  ///   - seed: The seed of the student's weights and training.
  /// - Precondition: the counts and the rate are positive.
  public init(
    variant: Variant, architecture: Architecture, epochs: Int = 10, batchSize: Int = 64,
    learningRate: Double = 0.001, seed: UInt64 = 0
  ) {
    precondition(epochs > 0 && batchSize > 0 && learningRate > 0, "positive training settings")
    self.variant = variant
    self.architecture = architecture
    self.epochs = epochs
    self.batchSize = batchSize
    self.learningRate = learningRate
    self.seed = seed
  }

  /// What a stealing run produced.
  public struct Outcome: Sendable {
    /// The trained student.
    public var student: Network
    /// Its figures.
    public var report: StealingReport
  }

  /// Queries the victim, trains the student and measures it.
  /// - Parameters:
  ///   - victim: The defended pipeline, as deployed.
  ///   - queries: The attacker's images; their labels are never read.
  ///   - test: Labelled images to measure the student, the victim and their agreement on.
  ///   - options: Compute settings for the student.
  ///   - progress: Called as training goes.
  /// - Returns: The student and the report.
  /// - Throws: Errors from the victim's stages; `ModelError` when the student does not fit the
  ///   victim, the images do not fit the student, or no query was answered.
  public func run(
    victim: Pipeline, queries: ImageBatch, test: ImageBatch, options: ComputeOptions = .init(),
    progress: (Trainer.Progress) -> Void = { _ in }
  ) throws -> Outcome {
    guard architecture.input == victim.inputShape, architecture.classes == victim.classCount
    else {
      throw ModelError(
        field: "student",
        expected: "the victim's \(victim.inputShape) input and \(victim.classCount) classes",
        found: "\(architecture.input) and \(architecture.classes) classes")
    }
    let clock = ContinuousClock()
    let start = clock.now
    let answers = try victim.defendedProbabilities(queries)
    let classes = answers.columns
    let answered = (0..<answers.rows).filter { row in answers.row(row).contains { $0 != 0 } }
    guard !answered.isEmpty else {
      throw ModelError(
        field: "queries", expected: "at least one query the victim answers",
        found: "\(queries.count) abstentions")
    }
    let taught = answers.predictedClasses
    var training = queries.selecting(answered)
    training.labels = answered.map { taught[$0] ?? 0 }
    var targets: [Float]?
    if variant == .probabilities {
      targets = answered.flatMap { row in
        let values = answers.row(row)
        let sum = values.reduce(0, +)
        return values.map { $0 / sum }
      }
    }
    let trainer = Trainer(batchSize: batchSize, seed: seed, targets: targets)
    let settings = TrainingCheckpoint.Settings(
      data: "stolen \(variant.rawValue)", seed: seed, batchSize: batchSize,
      optimizer: "adam lr=\(learningRate)")
    let outcome = try trainer.train(
      architecture, optimizer: Adam(learningRate: Float(learningRate)), data: training,
      validation: nil, epochs: epochs, settings: settings, checkpoint: nil, options: options,
      progress: progress)
    let student = outcome.network
    let studentClasses = Network.argmax(try student.logits(test), classes: classes)
    let victimClasses = try victim.defendedProbabilities(test).predictedClasses
    let studentRight = zip(studentClasses, test.labels).count { $0 == $1 }
    let victimRight = zip(victimClasses, test.labels).count { $0 == $1 }
    let victimAnswered = victimClasses.count { $0 != nil }
    let agreeing = zip(studentClasses, victimClasses).count { $0 == $1 }
    let report = StealingReport(
      variant: variant, queries: queries.count, answered: answered.count, epochs: epochs,
      testImages: test.count,
      studentAccuracy: StealingReport.Share(studentRight, of: test.count),
      victimAccuracy: StealingReport.Share(victimRight, of: test.count),
      agreement: StealingReport.Share(agreeing, of: victimAnswered),
      seconds: (clock.now - start).inSeconds)
    return Outcome(student: student, report: report)
  }
}
