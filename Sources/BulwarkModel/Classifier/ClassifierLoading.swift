import BulwarkData
import Foundation

/// Loads a frozen classifier from a model file, choosing the format by the file's extension:
/// `.safetensors` for Bulwark's own networks (``Network``), `.onnx` for imported models
/// (``ONNXModel``).
/// - Parameters:
///   - url: The model file.
///   - options: Threads to use.
///   - inputShape: The image shape, for an ONNX model whose input leaves it free; a model that
///     fixes it must agree.
/// - Returns: The classifier.
/// - Throws: ``ModelError`` for another extension or a shape that disagrees; the format's
///   errors for a bad file.
public func loadClassifier(
  contentsOf url: URL, options: ComputeOptions = .init(), inputShape: ImageShape? = nil
) throws -> any Classifier {
  switch url.pathExtension.lowercased() {
  case "safetensors":
    let network = try Network(contentsOf: url, options: options)
    if let inputShape, inputShape != network.inputShape {
      throw ModelError(
        field: "\(url.path): input", expected: "the input shape given, \(inputShape)",
        found: "\(network.inputShape), fixed by the architecture")
    }
    return network
  case "onnx": return try ONNXModel(contentsOf: url, options: options, inputShape: inputShape)
  default:
    throw ModelError(
      field: url.path, expected: "a model file ending in .safetensors or .onnx",
      found: url.pathExtension.isEmpty ? "no extension" : "'.\(url.pathExtension)'")
  }
}
