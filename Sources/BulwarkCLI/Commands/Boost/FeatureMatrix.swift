import BulwarkData
import Foundation

/// A rows x columns matrix of features read from a 2-D `.npy` (any numeric element type).
struct FeatureMatrix {
  var values: [Double]
  var rows: Int
  var columns: Int

  /// Reads `path`, which must hold a 2-D array.
  init(npy path: String) throws {
    let array = try NPYFile.read(from: URL(fileURLWithPath: path))
    guard array.shape.count == 2 else {
      throw FormatError(
        file: path, location: .field("shape"), expected: "a 2-D array (rows x features)",
        found: "shape \(array.shape)")
    }
    values = array.doubles
    rows = array.shape[0]
    columns = array.shape[1]
  }
}

/// Reads integer class labels from a 1-D `.npy` of integers (or of floats holding integers).
func readLabels(npy path: String, count: Int) throws -> [Int] {
  let array = try NPYFile.read(from: URL(fileURLWithPath: path))
  guard array.shape == [count] else {
    throw FormatError(
      file: path, location: .field("shape"), expected: "(\(count),): one label per row of --x",
      found: "\(array.shape)")
  }
  let values = array.doubles
  if let bad = values.firstIndex(where: { $0 < 0 || $0 != $0.rounded() || $0 > 1e6 }) {
    throw FormatError(
      file: path, location: .field("values"), expected: "class indices 0, 1, 2, …",
      found: "\(values[bad]) at index \(bad)")
  }
  return values.map { Int($0) }
}
