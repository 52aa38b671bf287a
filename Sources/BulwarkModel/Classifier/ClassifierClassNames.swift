import BulwarkData
import Foundation

/// The safetensors metadata key under which `bulwark train` records the training set's class
/// names, as a JSON array of strings: label `i` of the model is class `names[i]`.
public let classNamesMetadataKey = "bulwark.classes"

/// The class names a model file records (``classNamesMetadataKey``), so that data sets can be
/// matched to the model's classes by name; nil when it records none (an ONNX file, a model
/// trained elsewhere, or one whose classes are only numbered).
/// - Parameter url: The model file.
/// - Returns: The names, one per class, or nil.
/// - Throws: `FileAccessError` when the file cannot be read; `FormatError` when the key does not
///   hold a JSON array of strings.
public func classNames(ofModelAt url: URL) throws -> [String]? {
  guard url.pathExtension.lowercased() == "safetensors" else { return nil }
  let file = try SafeTensorsFile(contentsOf: url)
  guard let text = file.metadata[classNamesMetadataKey] else { return nil }
  guard let names = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
    throw FormatError(
      file: url.path, location: .field("__metadata__.\(classNamesMetadataKey)"),
      expected: "a JSON array of class names", found: "'\(text.prefix(60))'")
  }
  return names
}

/// `batch`'s labels matched by name to the classes the model file records, when it records
/// them (see ``classNames(ofModelAt:)``); `batch` itself otherwise.
/// - Parameters:
///   - batch: The data set.
///   - source: The set as a message names it (`data.clean (clean/)`).
///   - model: The model file.
/// - Returns: The set with labels into the model's classes.
/// - Throws: `DataSourceError` naming the set and the model for a foreign or shifted class;
///   errors reading the model's names.
public func matchingModelClasses(
  _ batch: ImageBatch, from source: String, model: URL
) throws -> ImageBatch {
  guard let names = try classNames(ofModelAt: model) else { return batch }
  return try batch.aligned(toClasses: names, of: "the model \(model.lastPathComponent)", as: source)
}
