/// A labelled batch of images: N x H x W x C float32 values in [0, 1], channels last (NHWC),
/// as in ART and in Bulwark's files.
///
/// PyTorch users hold NCHW arrays; convert before handing them over with
/// `x.transpose(0, 2, 3, 1)` in NumPy (`x.permute(0, 2, 3, 1)` in PyTorch), and back with
/// `transpose(0, 3, 1, 2)`.
public struct ImageBatch: Equatable, Sendable {
  /// The shape shared by every image.
  public var shape: ImageShape
  /// All values, image after image, each image row by row with channels interleaved.
  public var pixels: [Float]
  /// One class index per image, in `0..<classNames.count`.
  public var labels: [Int]
  /// Names of the classes; a label is an index into this list.
  public var classNames: [String]

  /// Creates a batch from its values and labels.
  /// - Parameters:
  ///   - shape: The shape of each image.
  ///   - pixels: `labels.count * shape.valueCount` values, NHWC.
  ///   - labels: One class index per image.
  ///   - classNames: The class names; when nil, the classes are named `0`, `1`, … up to the
  ///     largest label.
  /// - Precondition: the counts agree and every label indexes a class. Readers validate files
  ///   before building a batch, so a violation is a programming error.
  public init(shape: ImageShape, pixels: [Float], labels: [Int], classNames: [String]? = nil) {
    precondition(pixels.count == labels.count * shape.valueCount, "pixel count does not fit")
    let names = classNames ?? (0..<((labels.max() ?? -1) + 1)).map(String.init)
    precondition(labels.allSatisfy { $0 >= 0 && $0 < names.count }, "label out of range")
    self.shape = shape
    self.pixels = pixels
    self.labels = labels
    self.classNames = names
  }

  /// The most classes a labelled file may name (ImageNet-21k has 21,841): readers refuse larger
  /// labels before naming the classes up to them.
  public static let maximumClasses = 100_000

  /// The number of images.
  public var count: Int { labels.count }

  /// The number of classes.
  public var classCount: Int { classNames.count }

  /// The values of image `index`.
  public func image(at index: Int) -> ArraySlice<Float> {
    let size = shape.valueCount
    return pixels[index * size..<(index + 1) * size]
  }

  /// A batch of the images at `indices`, in that order, with the same class names.
  public func selecting(_ indices: some Collection<Int>) -> ImageBatch {
    let size = shape.valueCount
    var values = [Float]()
    values.reserveCapacity(indices.count * size)
    for index in indices {
      values.append(contentsOf: pixels[index * size..<(index + 1) * size])
    }
    return ImageBatch(
      shape: shape, pixels: values, labels: indices.map { labels[$0] }, classNames: classNames)
  }

  /// The first `count` images (all of them if there are fewer).
  public func prefix(_ count: Int) -> ImageBatch {
    selecting(0..<min(count, self.count))
  }

  /// The number of images of each class, indexed by class.
  public var classCounts: [Int] {
    var counts = [Int](repeating: 0, count: classCount)
    for label in labels { counts[label] += 1 }
    return counts
  }
}
