/// A parser that the fuzzer feeds, one per input format Bulwark reads.
///
/// ``run(on:)`` hands arbitrary bytes to the same entry points the command-line tool uses and,
/// where it is cheap, goes on to what a command would do next (build the network and classify
/// one image, predict one row, run the stages on one small image), because that is where sizes
/// read from a file are used. A thrown error is the expected outcome for most inputs; a crash,
/// a hang or a huge allocation is a bug. The fuzzer executable (`bulwark-fuzz`) and the
/// regression tests both run inputs through ``run(on:)``.
package enum FuzzTarget: String, CaseIterable, Sendable {
  /// A NumPy `.npy` array.
  case npy
  /// A NumPy `.npz` archive (zip, stored or deflated), then read as an image batch.
  case npz
  /// An IDX array (the MNIST format).
  case idx
  /// A gzip file, then the same bytes as a raw deflate stream.
  case gzip
  /// A PNG image.
  case png
  /// A JPEG image.
  case jpeg
  /// A Bulwark model file (safetensors), then the network it describes on one image.
  case safetensors
  /// An ONNX model (protobuf), then the compiled plan on one image.
  case onnx
  /// A LightGBM `model.txt`, then a prediction for a few rows.
  case lightgbmModel = "lightgbm-model"
  /// A pipeline file (JSON5), its search space, then its stages on one small image.
  case pipeline

  /// What error messages call the input.
  var fileName: String { "fuzz-input.\(rawValue)" }

  /// Reads `bytes` as this target's format and uses what it read.
  /// - Parameter bytes: The input.
  /// - Throws: The reader's error when it refuses the input, the expected outcome for malformed
  ///   input.
  package func run(on bytes: [UInt8]) throws {
    switch self {
    case .npy: try Self.readNPY(bytes, file: fileName)
    case .npz: try Self.readNPZ(bytes, file: fileName)
    case .idx: try Self.readIDX(bytes, file: fileName)
    case .gzip: try Self.readGzip(bytes, file: fileName)
    case .png: try Self.readPNG(bytes)
    case .jpeg: try Self.readJPEG(bytes)
    case .safetensors: try Self.readSafeTensors(bytes, file: fileName)
    case .onnx: try Self.readONNX(bytes, file: fileName)
    case .lightgbmModel: try Self.readLightGBMModel(bytes, file: fileName)
    case .pipeline: try Self.readPipeline(bytes, file: fileName)
    }
  }
}
