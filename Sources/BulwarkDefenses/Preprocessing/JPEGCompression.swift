import BulwarkCore
import BulwarkData

/// Compresses every image as a JPEG in memory and decodes it again (ART's `JpegCompression`;
/// Dziugaite et al., 2016, "A study of the effect of JPG compression on adversarial images").
///
/// Each image is quantised to 8 bits, encoded by libjpeg-turbo (baseline, standard Huffman
/// tables, `jpeg_set_quality(q, TRUE)`, integer slow DCT), decoded with libjpeg's defaults and
/// scaled back. Three channels are encoded as RGB (YCbCr, 4:2:0 chroma subsampling); any other
/// channel count as one greyscale JPEG per channel. Outputs lie on the k/255 grid of the range.
///
/// Deliberate difference from ART: ART converts to bytes with a truncating cast
/// (0.9999 × 255 → 254) and lets values outside the range wrap around (1.2 → 306 → 50); Bulwark
/// rounds to nearest and clips to the range. Where truncation and rounding agree, outputs equal
/// ART's bit for bit. Images are spread over `threadCount` threads in fixed chunks, so results
/// do not depend on it.
public struct JPEGCompression: RegisteredPreprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "jpeg-compression"

  /// libjpeg's quality, 1...100 (above 95 is legal but barely compresses).
  public let quality: Int
  /// The value range of the images: [0, 1] or [0, 255] (ART's `clip_values`).
  public let clipValues: ValueRange
  /// Threads used by `process`; 1 runs on the calling thread (for benchmarks). Defaults to the
  /// number of active cores.
  public var threadCount: Int = Parallel.defaultThreadCount

  /// The `quality` parameter: libjpeg's quality, 1...100 (default 50).
  public static let qualityParameter = DefenseParameter("quality", default: 50, in: 1...100)
  /// The `clipValues` parameter: the images' range, [0, 1] (default) or [0, 255].
  public static let clipValuesParameter = DefenseParameter(
    "clipValues", default: ValueRange.unit, expected: "[0, 1] or [0, 255]",
    accepts: { $0 == .unit || $0 == ValueRange(0, 255) })

  /// Creates the defense.
  /// - Parameters:
  ///   - quality: libjpeg's quality, 1...100.
  ///   - clipValues: The images' range, [0, 1] or [0, 255].
  /// - Throws: `DefenseParameterError` for a parameter out of range.
  public init(
    quality: Int = Self.qualityParameter.defaultValue,
    clipValues: ValueRange = Self.clipValuesParameter.defaultValue
  ) throws(DefenseParameterError) {
    self.quality = try Self.qualityParameter.validated(quality, stage: Self.typeName)
    self.clipValues = try Self.clipValuesParameter.validated(clipValues, stage: Self.typeName)
  }

  /// Decodes `{ quality: 50, clipValues: [0, 1] }`; both keys are optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for values
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      quality: parameters.value(Self.qualityParameter),
      clipValues: parameters.value(Self.clipValuesParameter))
  }

  /// False: compression is deterministic.
  public var isRandomized: Bool { false }

  /// 0.4 (`bulwark bench defenses`: libjpeg's round trip at about 0.4 LeNet-5 passes).
  public var relativeCost: Double { 0.4 }

  /// Images per parallel chunk: large enough to amortise the scratch buffers.
  static let chunkSize = 16

  /// Compresses and decompresses every image of `batch`.
  /// - Parameter batch: Images, NHWC, values in `clipValues`.
  /// - Returns: The batch after the round trip, same shape, labels and class names.
  /// - Throws: `JPEGError` when libjpeg cannot encode the geometry (a side above 65,500).
  public func process(_ batch: ImageBatch) throws -> ImageBatch {
    let shape = batch.shape
    let quality = self.quality
    let upper = clipValues.upper
    return try batch.mappingImageChunks(chunkSize: Self.chunkSize, threads: threadCount) {
      images, source, target throws(JPEGError) in
      try Self.roundTrip(
        source, into: target, images: images.count, shape: shape, quality: quality,
        upper: upper)
    }
  }

  /// Round-trips `images` consecutive images with scratch buffers of one image.
  static func roundTrip(
    _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, images: Int,
    shape: ImageShape, quality: Int, upper: Float
  ) throws(JPEGError) {
    let size = shape.valueCount
    let plane = shape.height * shape.width
    let channels = shape.channels
    let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: size)
    let planeBytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: plane)
    defer {
      bytes.deallocate()
      planeBytes.deallocate()
    }
    let scale = 255 / upper
    // ART divides the decoded bytes by 255 in double precision, then rounds to single.
    let levels = (0...255).map { upper == 255 ? Float($0) : Float(Double($0) / 255) }
    for image in 0..<images {
      let input = source + image &* size
      let output = target + image &* size
      for index in 0..<size {
        // Round to nearest and clip: the deliberate difference from ART's truncating cast.
        let value = (input[index] * scale).rounded(.toNearestOrEven)
        bytes[index] = UInt8(value < 0 ? 0 : (value > 255 ? 255 : value.isNaN ? 0 : value))
      }
      if channels == 1 || channels == 3 {
        try JPEGCodec.roundTrip(
          UnsafeBufferPointer(bytes), width: shape.width, height: shape.height,
          channels: channels, quality: quality, into: bytes)
      } else {
        for channel in 0..<channels {
          for pixel in 0..<plane { planeBytes[pixel] = bytes[pixel &* channels &+ channel] }
          try JPEGCodec.roundTrip(
            UnsafeBufferPointer(planeBytes), width: shape.width, height: shape.height,
            channels: 1, quality: quality, into: planeBytes)
          for pixel in 0..<plane { bytes[pixel &* channels &+ channel] = planeBytes[pixel] }
        }
      }
      for index in 0..<size { output[index] = levels[Int(bytes[index])] }
    }
  }
}
