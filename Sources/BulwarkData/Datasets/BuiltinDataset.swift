import Foundation

/// A data set Bulwark knows by name and reads from a Debian package's files.
public struct BuiltinDataset: Equatable, Hashable, Sendable, CustomStringConvertible {
  /// The name before the colon (`fashion-mnist`).
  public var name: String
  /// The split after the colon (`train`, `test`).
  public var split: String
  /// The folder the package installs.
  public var directory: URL
  /// The Debian package that provides the files.
  public var package: String
  /// The images file inside `directory`.
  public var imagesFile: String
  /// The labels file inside `directory`.
  public var labelsFile: String
  /// The class names, in label order.
  public var classNames: [String]

  /// Fashion-MNIST's ten class names (Xiao et al., 2017).
  public static let fashionMNISTClassNames = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
  ]

  /// Fashion-MNIST's 60,000 training images, from `dataset-fashion-mnist`.
  public static let fashionMNISTTrain = fashionMNIST(split: "train", prefix: "train")
  /// Fashion-MNIST's 10,000 test images, from `dataset-fashion-mnist`.
  public static let fashionMNISTTest = fashionMNIST(split: "test", prefix: "t10k")

  /// Every built-in data set.
  public static let all = [fashionMNISTTrain, fashionMNISTTest]

  private static func fashionMNIST(split: String, prefix: String) -> BuiltinDataset {
    BuiltinDataset(
      name: "fashion-mnist", split: split,
      directory: URL(fileURLWithPath: "/usr/share/datasets/fashion-mnist"),
      package: "dataset-fashion-mnist",
      imagesFile: "\(prefix)-images-idx3-ubyte.gz", labelsFile: "\(prefix)-labels-idx1-ubyte.gz",
      classNames: fashionMNISTClassNames)
  }

  /// The built-in data set called `name` (`fashion-mnist:test`), or nil.
  public static func named(_ name: String) -> BuiltinDataset? {
    all.first { $0.description == name }
  }

  /// `name:split`.
  public var description: String { "\(name):\(split)" }

  /// Whether the package's files are present.
  public var isInstalled: Bool {
    FileManager.default.fileExists(atPath: directory.appendingPathComponent(imagesFile).path)
      && FileManager.default.fileExists(atPath: directory.appendingPathComponent(labelsFile).path)
  }

  /// Reads the whole split.
  /// - Throws: `DataSourceError` naming the package to install when the files are missing;
  ///   `FormatError` when they are damaged.
  public func load() throws -> ImageBatch {
    guard isInstalled else {
      throw DataSourceError(
        source: description,
        message: "not installed: \(directory.appendingPathComponent(imagesFile).path) is missing; "
          + "install it with 'apt-get install \(package)'")
    }
    let batch = try ImageBatch(
      idxImages: directory.appendingPathComponent(imagesFile),
      labels: directory.appendingPathComponent(labelsFile))
    return ImageBatch(
      shape: batch.shape, pixels: batch.pixels, labels: batch.labels, classNames: classNames)
  }
}
