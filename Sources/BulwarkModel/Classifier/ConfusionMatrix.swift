import BulwarkData

/// How a classifier's predictions on a labelled set fall: counts of (true class, predicted
/// class), with per-class and overall accuracy.
public struct ConfusionMatrix: Equatable, Sendable, Encodable {
  /// `counts[truth][prediction]`, one row and one column per class.
  public var counts: [[Int]]

  /// Counts a classifier's predictions.
  /// - Parameters:
  ///   - logits: `labels.count x classes` values, row-major (the largest is the prediction).
  ///   - labels: The true class of each image.
  ///   - classes: The class count.
  public init(logits: [Float], labels: [Int], classes: Int) {
    var counts = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
    for (truth, guess) in zip(labels, Network.argmax(logits, classes: classes)) {
      counts[truth][guess] += 1
    }
    self.counts = counts
  }

  /// Images counted.
  public var total: Int { counts.joined().reduce(0, +) }

  /// Images predicted correctly.
  public var correct: Int { counts.indices.reduce(0) { $0 + counts[$1][$1] } }

  /// correct / total (0 for no image).
  public var accuracy: Double { total == 0 ? 0 : Double(correct) / Double(total) }

  /// Images of class `index`, and how many of them were predicted correctly.
  /// - Parameter index: A class.
  /// - Returns: The class's count and correct count.
  public func classCounts(_ index: Int) -> (count: Int, correct: Int) {
    (counts[index].reduce(0, +), counts[index][index])
  }
}
