import BulwarkData
import BulwarkModel

extension FuzzTarget {
  /// The largest image (values) a model target classifies: a CIFAR image is 3,072.
  static let maximumImageValues = 4_096

  static func readSafeTensors(_ bytes: [UInt8], file: String) throws {
    let contents = try SafeTensorsFile(decoding: bytes, file: file)
    let network = try Network(safeTensors: contents, options: ComputeOptions(threads: 1))
    try classifyOneImage(with: network)
  }

  static func readONNX(_ bytes: [UInt8], file: String) throws {
    let model = try ONNXModel(
      bytes: bytes, file: file, folder: nil, options: ComputeOptions(threads: 1))
    try classifyOneImage(with: model)
  }

  /// Classifies one grey image and takes the loss gradient, as `evaluate` and `attack` do,
  /// when the model's input is small enough to be cheap.
  static func classifyOneImage(with classifier: some Classifier) throws {
    let shape = classifier.inputShape
    guard shape.height <= maximumImageValues, shape.width <= maximumImageValues,
      shape.channels <= maximumImageValues, shape.valueCount <= maximumImageValues
    else { return }
    let batch = ImageBatch(
      shape: shape, pixels: [Float](repeating: 0.5, count: shape.valueCount), labels: [0])
    _ = try classifier.logits(batch)
    if classifier.classCount > 0 {
      _ = try classifier.lossGradient(batch, labels: [0])
    }
  }
}
