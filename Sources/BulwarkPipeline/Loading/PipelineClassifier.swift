import BulwarkModel
import Foundation

/// Loads the classifier a pipeline file names, whatever its format.
public enum PipelineClassifier {
  /// The model file extensions Bulwark reads.
  public static let supportedExtensions = ["safetensors"]

  /// Loads a frozen classifier: `.safetensors` files written by Bulwark become a `Network`.
  /// - Parameters:
  ///   - url: The model file.
  ///   - options: Threads and other compute settings.
  /// - Returns: The classifier.
  /// - Throws: `ModelError` for an unsupported extension; the format's errors for a malformed
  ///   file.
  public static func load(
    contentsOf url: URL, options: ComputeOptions = .init()
  ) throws -> any Classifier {
    switch url.pathExtension.lowercased() {
    case "safetensors":
      return try Network(contentsOf: url, options: options)
    default:
      throw ModelError(
        field: url.lastPathComponent,
        expected: "a model file (." + supportedExtensions.joined(separator: ", .") + ")",
        found: url.pathExtension.isEmpty ? "no extension" : "." + url.pathExtension)
    }
  }
}
