import BulwarkData
import BulwarkModel
import Foundation

/// The model-stealing attack that the `stealing` objective runs against every configuration
/// (`tune.stealing`), as `bulwark steal` runs it against one pipeline:
/// ```
/// tune: {
///   objective: "stealing",
///   minCleanAccuracy: 0.89,           // required: what the victim must keep
///   stealing: {
///     queries: 10000,                 // the first N images of data, labels never read
///     data: "fashion-mnist:train",
///     variant: "probabilities",       // or "labels" (CopycatCNN)
///     arch: "lenet5",                 // or "rgb-cnn"
///     epochs: 10, batchSize: 64, learningRate: 0.001, seed: 0,
///     measure: "student-accuracy",    // or "agreement": what the tuner minimises
///   },
///   postprocessors: [{ type: "reverse-sigmoid", beta: [0.5, 1, 2], gamma: [0.1, 0.3, 0.5] }],
/// }
/// ```
/// The student is measured on the sample's clean evaluation images (its accuracy, and its
/// agreement with the configuration out of the images the configuration answers); the best
/// configurations are measured again on the full clean set.
public struct StealingSetup: Sendable, Equatable {
  /// What the stealing objective minimises.
  public enum Measure: String, Sendable, CaseIterable, Codable {
    /// The student's accuracy on the labelled clean images.
    case studentAccuracy = "student-accuracy"
    /// How often the student gives the victim's class, out of the images the victim answers.
    case agreement
  }

  /// Images sent to each configuration: the first `queries` of `data`.
  public var queries: Int
  /// The attacker's unlabelled images.
  public var data: DataSource
  /// What the student learns: labels (CopycatCNN) or probabilities.
  public var variant: ModelStealing.Variant
  /// The student's architecture name: `lenet5` or `rgb-cnn`.
  public var architecture: String
  /// The student's training epochs.
  public var epochs: Int
  /// Images per training step.
  public var batchSize: Int
  /// Adam's step size.
  public var learningRate: Double
  /// The seed of the student's weights and training.
  public var seed: UInt64
  /// What the objective minimises.
  public var measure: Measure

  /// The attack against a victim of `classes` classes.
  /// - Parameter classes: The victim's class count.
  /// - Returns: The stealing attack.
  public func attack(classes: Int) -> ModelStealing {
    guard let student = ModelStealing.student(named: architecture, classes: classes) else {
      preconditionFailure("the file's arch was checked against the student architectures")
    }
    return ModelStealing(
      variant: variant, architecture: student, epochs: epochs, batchSize: batchSize,
      learningRate: learningRate, seed: seed)
  }

  /// The attacker's queries: the first `queries` images of `data`, their labels cleared, checked
  /// against the pipeline that will answer them.
  /// - Parameters:
  ///   - pipeline: The pipeline the queries go to.
  ///   - file: The pipeline file, for errors.
  /// - Returns: The query images.
  /// - Throws: `PipelineError` at `tune.stealing.data` for too few images or images the
  ///   pipeline cannot take; data errors.
  public func loadQueries(for pipeline: Pipeline, file: String) throws -> ImageBatch {
    let source = try data.load()
    guard source.count >= queries else {
      throw PipelineError(
        file: file, path: "tune.stealing.data",
        message: "\(data) has \(source.count) images; stealing.queries asks for \(queries)")
    }
    var images = source.prefix(queries)
    images.labels = [Int](repeating: 0, count: queries)
    try pipeline.check(images, name: "tune.stealing.data \(data)", file: file)
    return images
  }

  /// Reads `tune.stealing`.
  /// - Parameters:
  ///   - value: The `stealing` object.
  ///   - file: The pipeline file, for errors.
  ///   - folder: The folder a relative `data` path resolves against.
  /// - Throws: `PipelineErrors` naming every bad or unknown key by its path.
  init(_ value: JSONValue, file: String, folder: URL) throws(PipelineErrors) {
    let usage = KeyUsage()
    let root = JSONValueDecoder(
      value, codingPath: [PathKey(stringValue: "tune"), PathKey(stringValue: "stealing")],
      usage: usage, file: file)
    guard case .object = value else {
      throw PipelineErrors([root.mismatch("an object")])
    }
    var errors: [PipelineError] = []
    func read<T: Decodable>(
      _ key: String, default fallback: T?, check: (T) -> String? = { _ in nil }
    ) -> T? {
      guard let member = root.member(key) else {
        if fallback == nil { errors.append(root.error("missing key \(key)")) }
        return fallback
      }
      do {
        let decoded = try member.decode(T.self)
        if let problem = check(decoded) {
          errors.append(
            member.error("\(problem), found \(JSONValueDecoder.describe(member.value))"))
          return fallback
        }
        return decoded
      } catch let error as PipelineError {
        errors.append(error)
      } catch {
        errors.append(member.error("\(error)"))
      }
      return fallback
    }
    func oneOf(_ names: [String]) -> (String) -> String? {
      { names.contains($0) ? nil : "expected one of \(names.joined(separator: ", "))" }
    }
    let queries: Int? = read("queries", default: nil) {
      $0 >= 1 ? nil : "expected an integer >= 1"
    }
    let source: String? = read("data", default: nil)
    let variant = read(
      "variant", default: ModelStealing.Variant.labels.rawValue,
      check: oneOf(ModelStealing.Variant.allCases.map(\.rawValue)))
    let architecture = read(
      "arch", default: "lenet5", check: oneOf(ModelStealing.studentArchitectures))
    let epochs = read("epochs", default: 10) {
      (1...10_000).contains($0) ? nil : "expected an integer in 1...10000"
    }
    let batchSize = read("batchSize", default: 64) {
      (1...65_536).contains($0) ? nil : "expected an integer in 1...65536"
    }
    let learningRate = read("learningRate", default: 0.001) {
      $0 > 0 && $0 <= 10 ? nil : "expected a number in (0, 10]"
    }
    let seed: UInt64? = read("seed", default: 0)
    let measure = read(
      "measure", default: Measure.studentAccuracy.rawValue,
      check: oneOf(Measure.allCases.map(\.rawValue)))
    var data: DataSource?
    if let source {
      do {
        data = try DataSource(source, relativeTo: folder)
      } catch {
        errors.append(root.error("\(error)", at: root.codingPath + [PathKey(stringValue: "data")]))
      }
    }
    errors += usage.unknownKeys(in: value, at: root.codingPath, file: file)
    guard errors.isEmpty, let queries, let data, let architecture, let epochs, let batchSize,
      let learningRate, let seed, let variant = variant.flatMap(ModelStealing.Variant.init),
      let measure = measure.flatMap(Measure.init)
    else { throw PipelineErrors(errors) }
    self.queries = queries
    self.data = data
    self.variant = variant
    self.architecture = architecture
    self.epochs = epochs
    self.batchSize = batchSize
    self.learningRate = learningRate
    self.seed = seed
    self.measure = measure
  }
}
