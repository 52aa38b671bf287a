import BulwarkBoosting
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
public struct DistributionClassifier: FittedPostprocessor, Decodable {
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

  /// Creates an unfitted classifier.
  /// - Parameters:
  ///   - features: `softmax` (default) or `distribution`.
  ///   - passes: Passes per image for `distribution`, at least 2 (default 20).
  ///   - bins: Bins per class for `distribution`, at least 2 (default 20).
  ///   - boosting: Training parameters (default: the report's learning rate 0.1, 81 leaves,
  ///     50 rounds; LightGBM's other defaults).
  ///   - validFraction: Held-out share for early stopping, in (0, 1) (default 0.2, the
  ///     report's split); used only when `boosting.earlyStoppingRounds > 0`.
  /// - Throws: `DefenseParameterError` for a value out of range.
  public init(
    features: Features = .softmax, passes: Int = 20, bins: Int = 20,
    boosting: BoostingParameters = Self.reportParameters, validFraction: Double = 0.2
  ) throws(DefenseParameterError) {
    let stage = Self.typeName
    try Validate.check(
      passes >= 2 && passes <= 10_000, stage: stage, parameter: "passes",
      expected: "an integer in 2...10000", found: "\(passes)")
    try Validate.check(
      bins >= 2 && bins <= 1_000, stage: stage, parameter: "bins",
      expected: "an integer in 2...1000", found: "\(bins)")
    try Validate.check(
      validFraction > 0 && validFraction < 1, stage: stage, parameter: "validFraction",
      expected: "a number in (0, 1)", found: "\(validFraction)")
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
    self.passes = passes
    self.bins = bins
    self.boosting = boosting
    self.validFraction = validFraction
  }

  /// The CS5260 report's parameters: learning rate 0.1, 81 leaves, 50 rounds.
  public static let reportParameters = BoostingParameters(
    learningRate: 0.1, numLeaves: 81, rounds: 50)

  enum CodingKeys: String, CodingKey {
    case features, passes, bins, learningRate, numLeaves, rounds, minDataInLeaf, maxDepth
    case lambdaL1, lambdaL2, seed, earlyStoppingRounds, validFraction
  }

  /// Decodes `{ features: "softmax", learningRate: 0.1, numLeaves: 81, rounds: 50, … }`; every
  /// key is optional. The pipeline layer reads the stage's `model` and `fit` keys.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for a value of the wrong type, `DefenseParameterError` for a value
  ///   out of range or an unknown feature mode.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let defaults = Self.reportParameters
    var boosting = defaults
    func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
      try container.decodeIfPresent(T.self, forKey: key) ?? fallback
    }
    let featureName = try value(.features, Features.softmax.rawValue)
    let passes = try value(.passes, 20)
    let bins = try value(.bins, 20)
    boosting.learningRate = try value(.learningRate, defaults.learningRate)
    boosting.numLeaves = try value(.numLeaves, defaults.numLeaves)
    boosting.rounds = try value(.rounds, defaults.rounds)
    boosting.minDataInLeaf = try value(.minDataInLeaf, defaults.minDataInLeaf)
    boosting.maxDepth = try value(.maxDepth, defaults.maxDepth)
    boosting.lambdaL1 = try value(.lambdaL1, defaults.lambdaL1)
    boosting.lambdaL2 = try value(.lambdaL2, defaults.lambdaL2)
    boosting.seed = try value(.seed, defaults.seed)
    boosting.earlyStoppingRounds = try value(.earlyStoppingRounds, defaults.earlyStoppingRounds)
    let validFraction = try value(.validFraction, 0.2)
    guard let features = Features(rawValue: featureName) else {
      throw DefenseParameterError(
        stage: Self.typeName, parameter: "features", expected: "\"softmax\" or \"distribution\"",
        found: "\"\(featureName)\"")
    }
    try self.init(
      features: features, passes: passes, bins: bins, boosting: boosting,
      validFraction: validFraction)
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
    do {
      if boosting.earlyStoppingRounds > 0 {
        let heldOut = Int((Double(count) * validFraction).rounded())
        guard heldOut >= 1, heldOut < count else {
          throw DistributionClassifierError.training(
            "validFraction \(validFraction) of \(count) rows leaves no training or no "
              + "validation rows")
        }
        let validIndices = StratifiedSampler.sample(
          labels: labels, count: heldOut, seed: boosting.seed)
        var isValid = [Bool](repeating: false, count: count)
        for index in validIndices { isValid[index] = true }
        var train: (features: [Double], labels: [Int]) = ([], [])
        var valid: (features: [Double], labels: [Int]) = ([], [])
        for row in 0..<count {
          let values = rows[row * width..<(row + 1) * width]
          if isValid[row] {
            valid.features += values
            valid.labels.append(labels[row])
          } else {
            train.features += values
            train.labels.append(labels[row])
          }
        }
        model = try BoostedTrees.fit(
          features: train.features, rows: train.labels.count, columns: width,
          labels: train.labels, classes: classes, parameters: boosting, validation: valid)
      } else {
        model = try BoostedTrees.fit(
          features: rows, rows: count, columns: width, labels: labels, classes: classes,
          parameters: boosting)
      }
    } catch let error as BoostingError {
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
