import Foundation

/// Loads a frozen classifier from a model file, choosing the format by the file's extension:
/// `.safetensors` for Bulwark's own networks (``Network``), `.onnx` for imported models
/// (``ONNXModel``).
/// - Parameters:
///   - url: The model file.
///   - options: Threads to use.
/// - Returns: The classifier.
/// - Throws: ``ModelError`` for another extension; the format's errors for a bad file.
public func loadClassifier(contentsOf url: URL, options: ComputeOptions = .init()) throws
  -> any Classifier
{
  switch url.pathExtension.lowercased() {
  case "safetensors": return try Network(contentsOf: url, options: options)
  case "onnx": return try ONNXModel(contentsOf: url, options: options)
  default:
    throw ModelError(
      field: url.path, expected: "a model file ending in .safetensors or .onnx",
      found: url.pathExtension.isEmpty ? "no extension" : "'.\(url.pathExtension)'")
  }
}
