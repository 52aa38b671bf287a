/// Class probabilities for a batch: `rows` x `columns` values, row-major, one row per image and
/// one column per class (what a classifier's softmax gives).
public struct Probabilities: Equatable, Sendable {
  /// The number of rows (images).
  public let rows: Int
  /// The number of columns (classes).
  public let columns: Int
  /// `rows * columns` values, row after row.
  public var values: [Float]

  /// Creates a table of probabilities.
  /// - Parameters:
  ///   - rows: The number of rows.
  ///   - columns: The number of columns, at least 1.
  ///   - values: `rows * columns` values, row-major.
  /// - Precondition: the counts agree. Readers validate arrays before building this.
  public init(rows: Int, columns: Int, values: [Float]) {
    precondition(rows >= 0 && columns >= 1 && values.count == rows * columns, "shape mismatch")
    self.rows = rows
    self.columns = columns
    self.values = values
  }

  /// The values of row `index`.
  public func row(_ index: Int) -> ArraySlice<Float> {
    values[index * columns..<(index + 1) * columns]
  }

  /// The rows whose values are all zero: a postprocessor such as `HighConfidence` abstained on
  /// them (Bulwark counts them as wrong and reports them separately; ART's argmax would say
  /// class 0).
  public var abstainedRows: [Int] {
    (0..<rows).filter { row($0).allSatisfy { $0 == 0 } }
  }

  /// Each row's class: the index of its largest value (ties: the lowest index), or nil for an
  /// abstained row.
  public var predictedClasses: [Int?] {
    (0..<rows).map { index in
      let values = row(index)
      if values.allSatisfy({ $0 == 0 }) { return nil }
      return Self.argmax(values) - values.startIndex
    }
  }

  /// The index of the largest value, the first one on ties.
  static func argmax(_ values: ArraySlice<Float>) -> Int {
    var best = values.startIndex
    for index in values.indices where values[index] > values[best] {
      best = index
    }
    return best
  }
}
