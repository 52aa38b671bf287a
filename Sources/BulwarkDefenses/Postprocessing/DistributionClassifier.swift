import BulwarkBoosting
import BulwarkCore
import BulwarkData

/// Re-classifies the classifier's softmax outputs with gradient-boosted trees (LightGBM's
/// softmax objective, `BulwarkBoosting`): the CS5260 report's post-processor, and Kou et al.'s
/// distribution classifier ("Enhancing transformation-based defenses against adversarial
/// attacks with a distribution classifier", ICLR 2020).
///
/// Two feature modes:
/// - `softmax` (the report): one pass; the K softmax values of an image are its features.
/// - `distribution` (Kou et al.): the pipeline runs its randomised preprocessors `passes` times
///   per image (see `FittedPostprocessor`); for every class, the `passes` softmax values of that
///   class are counted into `bins` equal-width bins on [0, 1] (the last bin closed), and the
///   counts divided by `passes` are the features: K x `bins` values, class-major. Kou et al.
///   discretise these marginal distributions of the softmax over random transformations
///   (smoothed with a kernel density estimate) and classify them with a small learnt
///   classifier fitted on clean images only; here the histograms are plain normalised counts
///   and the classifier is the trees.
///
/// It is fitted (`fit(passes:labels:)`) or given a saved model (`init(model:)`,
/// `loadModel(_:)`); until then `process(passes:)` throws `DistributionClassifierError`.
public struct DistributionClassifier: FittedPostprocessor, RegisteredPostprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "distribution-classifier"

  /// What the trees see of an image.
  public enum Features: String, Sendable, Equatable, CaseIterable {
    /// The softmax values of one pass.
    case softmax
    /// Per-class histograms of the softmax values over `passes` randomised passes.
    case distribution
  }

  /// The feature mode.
  public let features: Features
  /// Randomised passes per image in `distribution` mode (unused by `softmax`).
  public let passes: Int
  /// Histogram bins per class in `distribution` mode (unused by `softmax`).
  public let bins: Int
  /// The trees' training parameters.
  public let boosting: BoostingParameters
  /// The share of the fit data held out for early stopping, when
  /// `boosting.earlyStoppingRounds > 0`.
  public let validFraction: Double
  /// The fitted or loaded trees, or nil.
  public private(set) var model: BoostedTrees?

  /// The `features` parameter: `"softmax"` (default) or `"distribution"`.
  public static let featuresParameter = DefenseParameter(
    "features", default: Features.softmax.rawValue, expected: "\"softmax\" or \"distribution\"",
    accepts: { Features(rawValue: $0) != nil })
  /// The `passes` parameter: passes per image for distribution features, 2...10000 (default 20).
  public static let passesParameter = DefenseParameter("passes", default: 20, in: 2...10_000)
  /// The `bins` parameter: bins per class for distribution features, 2...1000 (default 20).
  public static let binsParameter = DefenseParameter("bins", default: 20, in: 2...1_000)
  /// The `validFraction` parameter: the share held out for early stopping, in (0, 1) (default
  /// 0.2, the report's split).
  public static let validFractionParameter = DefenseParameter<Double>(
    "validFraction", default: 0.2, expected: "a number in (0, 1)", accepts: { $0 > 0 && $0 < 1 })

  /// Creates an unfitted classifier.
  /// - Parameters:
  ///   - features: `softmax` (default) or `distribution`.
  ///   - passes: Passes per image for `distribution`, 2...10000.
  ///   - bins: Bins per class for `distribution`, 2...1000.
  ///   - boosting: Training parameters (default: the report's learning rate 0.1, 81 leaves,
  ///     50 rounds; LightGBM's other defaults).
  ///   - validFraction: Held-out share for early stopping, in (0, 1); used only when
  ///     `boosting.earlyStoppingRounds > 0`.
  /// - Throws: `DefenseParameterError` for a value out of range.
  public init(
    features: Features = .softmax, passes: Int = Self.passesParameter.defaultValue,
    bins: Int = Self.binsParameter.defaultValue,
    boosting: BoostingParameters = Self.reportParameters,
    validFraction: Double = Self.validFractionParameter.defaultValue
  ) throws(DefenseParameterError) {
    let stage = Self.typeName
    self.passes = try Self.passesParameter.validated(passes, stage: stage)
    self.bins = try Self.binsParameter.validated(bins, stage: stage)
    self.validFraction = try Self.validFractionParameter.validated(validFraction, stage: stage)
    do {
      try boosting.validate()
    } catch {
      guard case .invalidParameter(let name, let expected, let found) = error else {
        throw DefenseParameterError(
          stage: stage, parameter: "boosting", expected: "valid parameters", found: "\(error)")
      }
      throw DefenseParameterError(
        stage: stage, parameter: name, expected: expected, found: found)
    }
    self.features = features
    self.boosting = boosting
  }

  /// The CS5260 report's parameters: learning rate 0.1, 81 leaves, 50 rounds.
  public static let reportParameters = BoostingParameters(
    learningRate: 0.1, numLeaves: 81, rounds: 50)

  /// Decodes `{ features: "softmax", learningRate: 0.1, numLeaves: 81, rounds: 50, … }`; every
  /// key is optional. The pipeline layer reads the stage's `model` and `fit` keys.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for a value of the wrong type, `DefenseParameterError` for a value
  ///   out of range or an unknown feature mode.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    let features = try parameters.value(Self.featuresParameter)
    // The trees' parameters default to the report's; `BoostingParameters.validate()` judges
    // their values.
    var boosting = Self.reportParameters
    func read<Value: Decodable & Sendable>(_ key: String, _ current: Value) throws -> Value {
      try parameters.value(DefenseParameter(key, default: current, expected: "a valid value"))
    }
    boosting.learningRate = try read("learningRate", boosting.learningRate)
    boosting.numLeaves = try read("numLeaves", boosting.numLeaves)
    boosting.rounds = try read("rounds", boosting.rounds)
    boosting.minDataInLeaf = try read("minDataInLeaf", boosting.minDataInLeaf)
    boosting.maxDepth = try read("maxDepth", boosting.maxDepth)
    boosting.lambdaL1 = try read("lambdaL1", boosting.lambdaL1)
    boosting.lambdaL2 = try read("lambdaL2", boosting.lambdaL2)
    boosting.seed = try read("seed", boosting.seed)
    boosting.earlyStoppingRounds = try read("earlyStoppingRounds", boosting.earlyStoppingRounds)
    let passes = try parameters.value(Self.passesParameter)
    let bins = try parameters.value(Self.binsParameter)
    let validFraction = try parameters.value(Self.validFractionParameter)
    let mode = try Self.featuresParameter.validated(features, stage: Self.typeName)
    try self.init(
      features: Features(rawValue: mode) ?? .softmax, passes: passes, bins: bins,
      boosting: boosting, validFraction: validFraction)
  }

  /// The classifier passes per image: 1 for `softmax`, `passes` for `distribution`.
  public var passesPerImage: Int { features == .softmax ? 1 : passes }

  /// Whether trees are present (fitted or loaded).
  public var isFitted: Bool { model != nil }

  /// Takes saved trees (a LightGBM `model.txt` read with `BoostedTrees(contentsOf:)`).
  /// - Parameter model: The trees; their feature count must suit the feature mode, which
  ///   `process(passes:)` checks against the classes it sees.
  public mutating func loadModel(_ model: BoostedTrees) {
    self.model = model
  }

  /// The feature columns for `classes` classes: `classes` for `softmax`, `classes x bins` for
  /// `distribution`.
  /// - Parameter classes: The classifier's class count.
  /// - Returns: The number of features per image.
  public func featureCount(classes: Int) -> Int {
    features == .softmax ? classes : classes * bins
  }

  /// The feature rows of the passes: row-major, one row of `featureCount(classes:)` values per
  /// image.
  /// - Parameter passes: `passesPerImage` tables of the same shape.
  /// - Returns: The features, as `Double`.
  /// - Throws: `DistributionClassifierError.passes` when the tables do not fit.
  public func featureRows(_ passes: [Probabilities]) throws(DistributionClassifierError)
    -> [Double]
  {
    guard passes.count == passesPerImage, let first = passes.first else {
      throw .passes(expected: "\(passesPerImage) tables", found: "\(passes.count)")
    }
    if let other = passes.first(where: { $0.rows != first.rows || $0.columns != first.columns }) {
      throw .passes(
        expected: "tables of \(first.rows) x \(first.columns)",
        found: "\(other.rows) x \(other.columns)")
    }
    if features == .softmax { return first.values.map(Double.init) }
    let rows = first.rows
    let classes = first.columns
    let bins = self.bins
    let width = classes * bins
    let share = 1 / Double(passes.count)
    var result = [Double](repeating: 0, count: rows * width)
    for table in passes {
      for row in 0..<rows {
        for column in 0..<classes {
          let value = table.values[row * classes + column]
          // Values outside [0, 1] (after a postprocessor) fall into the end bins.
          let bin = value.isNaN ? 0 : min(max(Int(Double(value) * Double(bins)), 0), bins - 1)
          result[row * width + column * bins + bin] += share
        }
      }
    }
    return result
  }

  /// Fits the trees on labelled passes; with `earlyStoppingRounds > 0`, a seeded, stratified
  /// `validFraction` of the rows is held out and the model stops at its best iteration.
  /// - Parameters:
  ///   - passes: `passesPerImage` tables; table `k` holds pass `k` of every image.
  ///   - labels: The true class of each image.
  /// - Throws: `DistributionClassifierError` for tables that do not fit, or when the trees
  ///   cannot be trained (fewer than 2 classes, too few rows to hold some out).
  public mutating func fit(passes: [Probabilities], labels: [Int]) throws {
    let rows = try featureRows(passes)
    let count = labels.count
    guard let classes = passes.first?.columns, passes.first?.rows == count else {
      throw DistributionClassifierError.passes(
        expected: "\(count) rows, one per label", found: "\(passes.first?.rows ?? 0)")
    }
    let width = featureCount(classes: classes)
    let heldOut = boosting.earlyStoppingRounds > 0 ? validFraction : 0
    do throws(BoostingError) {
      let fitted = try BoostedTrees.fit(
        features: rows, rows: count, columns: width, labels: labels, classes: classes,
        parameters: boosting, validFraction: heldOut)
      model = fitted.model
    } catch {
      throw DistributionClassifierError.training(error.description)
    }
  }

  /// The trees' class probabilities for every image.
  /// - Parameter passes: `passesPerImage` tables, as for `fit(passes:labels:)`.
  /// - Returns: One probability row per image.
  /// - Throws: `DistributionClassifierError.notFitted` before fitting or loading; `.passes` or
  ///   `.model` when the tables do not suit the trees.
  public func process(passes: [Probabilities]) throws -> Probabilities {
    guard let model else { throw DistributionClassifierError.notFitted }
    let rows = try featureRows(passes)
    guard let first = passes.first else { throw DistributionClassifierError.notFitted }
    let width = featureCount(classes: first.columns)
    guard model.classes == first.columns, model.featureCount == width else {
      throw DistributionClassifierError.model(
        expected: "\(first.columns) classes and \(width) features (\(features.rawValue))",
        found: "\(model.classes) classes and \(model.featureCount) features")
    }
    do {
      let probabilities = try model.probabilities(rows, rows: first.rows)
      return Probabilities(
        rows: first.rows, columns: first.columns, values: probabilities.map(Float.init))
    } catch {
      throw DistributionClassifierError.training(error.description)
    }
  }
}
