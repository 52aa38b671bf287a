import Bulwark
import Foundation

/// A fitted postprocessor of the user's own: nearest class centroid on the classifier's
/// probability rows (`{ type: "nearest-centroid", temperature: 0.05 }`).
///
/// `fit` averages the rows of each true class into a centroid; a row is then classified by its
/// squared Euclidean distances `d_k` to the centroids, as `softmax(-d_k / temperature)` (a class
/// without fit rows gets probability 0). It learns from the same data as the distribution
/// classifier, and through `FittedPostprocessor` it takes part in `bulwark fit`, `score` and
/// `tune` (and the tuner's `best.json5`) in exactly the same way. Its model is a JSON file of
/// the centroids.
struct NearestCentroid: RegisteredPostprocessor, FittedPostprocessor {
  static let typeName = "nearest-centroid"
  static let modelFileExtension = "json"

  /// The softmax temperature over negative squared distances, more than 0.
  let temperature: Double
  /// One centroid per class (an empty array for a class without fit rows), or nil unfitted.
  private(set) var centroids: [[Float]]?

  var passesPerImage: Int { 1 }
  var isFitted: Bool { centroids != nil }
  /// The centroids depend on no setting: the temperature only shapes the output.
  var fitConfiguration: [String: String] { [:] }

  /// Creates an unfitted classifier.
  /// - Parameter temperature: More than 0 and finite (default 0.05).
  /// - Throws: `DefenseParameterError` for a temperature out of range.
  init(temperature: Double = 0.05) throws(DefenseParameterError) {
    guard temperature.isFinite, temperature > 0 else {
      throw DefenseParameterError(
        stage: Self.typeName, parameter: "temperature", expected: "a finite number > 0",
        found: "\(temperature)")
    }
    self.temperature = temperature
  }

  enum CodingKeys: String, CodingKey {
    case temperature
  }

  /// Decodes `{ temperature: 0.05 }`; the key is optional. The pipeline layer reads the
  /// stage's `model` and `fit` keys.
  /// - Parameter decoder: The stage's decoder.
  /// - Throws: `DecodingError` for a value of the wrong type, `DefenseParameterError` for one
  ///   out of range.
  init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    try self.init(
      temperature: container.decodeIfPresent(Double.self, forKey: .temperature) ?? 0.05)
  }

  /// Averages the rows of each class.
  /// - Parameters:
  ///   - passes: One table (one pass per image).
  ///   - labels: The true class of each row.
  /// - Throws: `CentroidError` for tables that do not fit the labels.
  mutating func fit(passes: [Probabilities], labels: [Int]) throws {
    guard passes.count == 1, let table = passes.first, table.rows == labels.count else {
      throw CentroidError(message: "expected one table with a row per label")
    }
    let columns = table.columns
    var sums = [[Double]](repeating: [Double](repeating: 0, count: columns), count: columns)
    var counts = [Int](repeating: 0, count: columns)
    for (row, label) in labels.enumerated() {
      guard (0..<columns).contains(label) else {
        throw CentroidError(message: "label \(label) is outside the \(columns) classes")
      }
      counts[label] += 1
      for (column, value) in table.row(row).enumerated() { sums[label][column] += Double(value) }
    }
    centroids = zip(sums, counts).map { sum, count in
      count == 0 ? [] : sum.map { Float($0 / Double(count)) }
    }
  }

  /// The softmax of the negative squared distances to the centroids, over the temperature.
  /// - Parameter passes: One table.
  /// - Returns: One probability row per image.
  /// - Throws: `CentroidError` before fitting, or for a table of another class count.
  func process(passes: [Probabilities]) throws -> Probabilities {
    guard let centroids else {
      throw CentroidError(message: "not fitted; fit it or load its model first")
    }
    guard let table = passes.first, table.columns == centroids.count else {
      throw CentroidError(message: "the model has \(centroids.count) classes")
    }
    var values = [Float](repeating: 0, count: table.values.count)
    for row in 0..<table.rows {
      let point = table.row(row)
      let scores = centroids.map { centroid -> Double? in
        guard !centroid.isEmpty else { return nil }
        let distance = zip(point, centroid).reduce(0.0) {
          $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1))
        }
        return -distance / temperature
      }
      let largest = scores.compactMap { $0 }.max() ?? 0
      let weights = scores.map { $0.map { exp($0 - largest) } ?? 0 }
      let total = weights.reduce(0, +)
      for (column, weight) in weights.enumerated() {
        values[row * table.columns + column] = Float(weight / total)
      }
    }
    return Probabilities(rows: table.rows, columns: table.columns, values: values)
  }

  /// Writes the centroids as JSON, atomically.
  /// - Parameter url: The model file.
  /// - Throws: `CentroidError` before fitting; file errors.
  func saveModel(to url: URL) throws {
    guard let centroids else { throw CentroidError(message: "not fitted; nothing to save") }
    try JSONEncoder().encode(centroids).write(to: url, options: .atomic)
  }

  /// Reads centroids written by `saveModel(to:)`.
  /// - Parameter url: The model file.
  /// - Throws: `CentroidError` naming the file when it cannot be read or is not centroids.
  mutating func loadModel(contentsOf url: URL) throws {
    do {
      centroids = try JSONDecoder().decode([[Float]].self, from: Data(contentsOf: url))
    } catch {
      throw CentroidError(message: "cannot read centroids from \(url.path): \(error)")
    }
  }
}

/// A nearest-centroid classifier used before it is fitted, or given data that does not suit it.
struct CentroidError: Error, CustomStringConvertible {
  var message: String
  var description: String { "nearest-centroid: \(message)" }
}
