/// Replaces each row by the one-hot vector of its most probable class (ART's `ClassLabels`).
///
/// Ties go to the lowest index. Deliberate difference: ART sets, in every row, each column that
/// is the argmax of any row in the batch (a bug, its PR 2824); Bulwark works row by row. An
/// all-zero row stays all zeros (an abstention).
public struct ClassLabels: RegisteredPostprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "class-labels"

  /// Creates the defense; it has no parameters.
  public init() {}

  /// Decodes `{}`.
  /// - Parameter decoder: The decoder to read from (no keys are read).
  public init(from decoder: any Decoder) {}

  /// One-hot encodes each row's argmax.
  /// - Parameter probabilities: One row per image.
  /// - Returns: A table of zeros with one 1 per row that was not all zeros.
  public func process(_ probabilities: Probabilities) -> Probabilities {
    var result = probabilities
    let columns = probabilities.columns
    for row in 0..<probabilities.rows {
      let values = probabilities.row(row)
      let winner = Probabilities.argmax(values) - values.startIndex
      let abstained = values.allSatisfy { $0 == 0 }
      for column in 0..<columns {
        result.values[row * columns + column] = !abstained && column == winner ? 1 : 0
      }
    }
    return result
  }
}
