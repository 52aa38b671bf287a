import BulwarkData
import BulwarkModel
import Foundation

/// A classifier of 1x1x1 images whose class probabilities the test controls: each pixel value
/// selects a row of `table`; the logits are the row's logarithms, so the softmax gives it back.
/// The loss gradient is +1 everywhere, so FGSM moves every pixel up by eps; a gradient given on
/// the logits comes back as its row sum on the image's one pixel.
struct TableClassifier: Classifier {
  static let table: [Float: [Float]] = [
    0: [0.9, 0.1], 0.25: [0.6, 0.4], 0.5: [0.4, 0.6], 0.75: [0.2, 0.8], 1: [0.55, 0.45],
  ]

  var inputShape: ImageShape { ImageShape(height: 1, width: 1, channels: 1) }
  var classCount: Int { 2 }

  func logits(_ batch: ImageBatch) throws -> [Float] {
    try checkShape(batch)
    return batch.pixels.flatMap { value in
      let key = Self.table.keys.min { abs($0 - value) < abs($1 - value) } ?? 0
      return (Self.table[key] ?? [0.5, 0.5]).map { Foundation.log($0) }
    }
  }

  func lossGradient(_ batch: ImageBatch, labels: [Int]) throws -> (loss: Double, input: [Float]) {
    (0, [Float](repeating: 1, count: batch.pixels.count))
  }

  func inputGradient(_ batch: ImageBatch, logitGradient: [Float]) throws -> [Float] {
    try checkShape(batch)
    try checkLogitGradient(logitGradient, count: batch.count)
    return (0..<batch.count).map { logitGradient[$0 * 2] + logitGradient[$0 * 2 + 1] }
  }

  static func batch(_ items: [(Float, Int)]) -> ImageBatch {
    ImageBatch(
      shape: ImageShape(height: 1, width: 1, channels: 1), pixels: items.map(\.0),
      labels: items.map(\.1), classNames: ["a", "b"])
  }
}
