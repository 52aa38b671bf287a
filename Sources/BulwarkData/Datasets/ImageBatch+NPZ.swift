import Foundation

extension ImageBatch {
  /// The names of the arrays a Bulwark `.npz` holds: images and labels.
  public static let npzImagesName = "x"
  /// The name of the labels array in a Bulwark `.npz`.
  public static let npzLabelsName = "y"
  /// The name of the optional class-names array in a Bulwark `.npz` (strings; label `i` is
  /// class `classes[i]`).
  public static let npzClassNamesName = "classes"

  /// Reads a batch from an `.npz` archive with `x` (N x H x W x C, or N x H x W for one
  /// channel; float32 or float64 in [0, 1], or uint8 scaled by 1/255), `y` (N integer
  /// labels) and optionally `classes` (the class names, strings; without it the classes are
  /// named by their numbers).
  /// - Parameters:
  ///   - archive: The archive's arrays.
  ///   - file: The archive's path, for messages.
  /// - Throws: `FormatError` naming the array when one is missing, of the wrong rank or type,
  ///   holds a NaN or a value outside [0, 1], a label outside `0..<maximumClasses`, when the
  ///   counts differ, or when `classes` does not name every label.
  public init(npz archive: NPZArchive, file: String) throws(FormatError) {
    let (xName, yName) = (Self.npzImagesName, Self.npzLabelsName)
    guard let x = archive[xName] else {
      throw FormatError(
        file: file, location: .field(xName), expected: "an array of images named 'x'",
        found: "arrays \(archive.names)")
    }
    guard let y = archive[yName] else {
      throw FormatError(
        file: file, location: .field(yName), expected: "an array of labels named 'y'",
        found: "arrays \(archive.names)")
    }
    guard (3...4).contains(x.shape.count), x.shape.dropFirst().allSatisfy({ $0 > 0 }) else {
      throw FormatError(
        file: file, location: .field(xName),
        expected: "shape (N, H, W, C) or (N, H, W) with non-zero H, W, C (NHWC; convert NCHW "
          + "with x.transpose(0, 2, 3, 1))", found: "shape \(x.shape)")
    }
    let pixels: [Float]
    switch x.storage {
    case .float32(let values): pixels = values
    case .float64(let values): pixels = values.map(Float.init)
    case .uint8(let values): pixels = Self.unitFloats(fromBytes: values)
    default:
      throw FormatError(
        file: file, location: .field(xName), expected: "float32, float64 or uint8 values",
        found: x.elementDescription)
    }
    if let bad = pixels.firstIndex(where: { !($0 >= 0 && $0 <= 1) }) {
      throw FormatError(
        file: file, location: .field(xName), expected: "values in [0, 1]",
        found: "\(pixels[bad]) at flat index \(bad)")
    }
    let labels: [Int]
    switch y.storage {
    case .int64(let values) where y.shape.count == 1: labels = values.map { Int($0) }
    case .int32(let values) where y.shape.count == 1: labels = values.map { Int($0) }
    case .uint8(let values) where y.shape.count == 1: labels = values.map { Int($0) }
    default:
      throw FormatError(
        file: file, location: .field(yName), expected: "a 1-D array of integer labels",
        found: "\(y.elementDescription) of shape \(y.shape)")
    }
    guard labels.count == x.shape[0] else {
      throw FormatError(
        file: file, location: .field(yName), expected: "\(x.shape[0]) labels, one per image",
        found: "\(labels.count)")
    }
    // A label is a class index, and the classes are named up to the largest: a huge label
    // would allocate that many names before any classifier could refuse it.
    if let bad = labels.firstIndex(where: { $0 < 0 || $0 >= Self.maximumClasses }) {
      throw FormatError(
        file: file, location: .field(yName),
        expected: "class indices in 0..<\(Self.maximumClasses)",
        found: "\(labels[bad]) at index \(bad)")
    }
    let shape = ImageShape(
      height: x.shape[1], width: x.shape[2], channels: x.shape.count == 4 ? x.shape[3] : 1)
    self.init(
      shape: shape, pixels: pixels, labels: labels,
      classNames: try Self.classNames(in: archive, labels: labels, file: file))
  }

  /// The archive's `classes` array, checked to name every label, or nil without one.
  private static func classNames(
    in archive: NPZArchive, labels: [Int], file: String
  ) throws(FormatError) -> [String]? {
    let name = npzClassNamesName
    guard let classes = archive[name] else { return nil }
    guard case .unicode(let names) = classes.storage, classes.shape.count == 1 else {
      throw FormatError(
        file: file, location: .field(name), expected: "a 1-D array of class names (str)",
        found: "\(classes.elementDescription) of shape \(classes.shape)")
    }
    let needed = (labels.max() ?? -1) + 1
    guard names.count >= needed, names.count <= maximumClasses else {
      throw FormatError(
        file: file, location: .field(name),
        expected: "a name for every label, 0...\(needed - 1) (at most \(maximumClasses))",
        found: "\(names.count) names")
    }
    return names
  }

  /// The batch as an `.npz` archive: `x` float32 (N, H, W, C), `y` int64 (N) and, when the
  /// classes have names other than their numbers, `classes` (str), so that the names travel
  /// with the labels.
  public var npzArchive: NPZArchive {
    let x = NDArray(
      shape: [count, shape.height, shape.width, shape.channels], storage: .float32(pixels))
    let y = NDArray(shape: [count], storage: .int64(labels.map(Int64.init)))
    var entries = [
      NPZArchive.Entry(name: Self.npzImagesName, array: x),
      NPZArchive.Entry(name: Self.npzLabelsName, array: y),
    ]
    if classNames != classNames.indices.map(String.init) {
      entries.append(
        NPZArchive.Entry(
          name: Self.npzClassNamesName,
          array: NDArray(shape: [classCount], storage: .unicode(classNames))))
    }
    return NPZArchive(entries)
  }
}
