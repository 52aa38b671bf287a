import BulwarkCore
import BulwarkData

/// A median filter over each image's two spatial axes, each channel on its own (ART's
/// `SpatialSmoothing`; Xu et al., 2018, "Feature Squeezing").
///
/// Matches `scipy.ndimage.median_filter(x, size=(1, k, k, 1), mode="reflect")` bit for bit:
/// - the border repeats the edge pixel (`d c b a | a b c d | d c b a`), extended periodically
///   when the window is larger than the image;
/// - window offsets along each axis run from `-(k / 2)` to `k - 1 - k / 2` (for even k the extra
///   cell lies toward lower indices);
/// - the result is the value at sorted position `k * k / 2` (0-based), so for even `k * k` the
///   upper of the two middle values.
///
/// The output is always one of the input values, selected by comparisons only. Windows 2 and 3
/// use straight-line SIMD code, windows 4 to 9 generated comparator networks (see
/// `PairedMedianNetwork`), both on 16 neighbouring pixels at once; larger windows select per
/// pixel. Images are spread over `threadCount` threads; results do not depend on it.
/// NaN values have no defined median (scipy's result then depends on its selection order).
public struct SpatialSmoothing: RegisteredPreprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "spatial-smoothing"

  /// The window side k.
  public let window: Int
  /// When set, outputs are clipped to this range (ART's `clip_values`).
  public let clipRange: ValueRange?
  /// Threads used by `process`; 1 runs on the calling thread (for benchmarks). Defaults to the
  /// number of active cores.
  public var threadCount: Int = Parallel.defaultThreadCount

  let network: PairedMedianNetwork?

  static let largestNetworkWindow = 9

  /// The `window` parameter: the window side k, an integer in 1...255 (default 3). ART sets no
  /// upper bound; Bulwark refuses windows whose k² values per pixel would take gigabytes and
  /// hours (a window of 100,000 tried to allocate 40 GB).
  public static let windowParameter = DefenseParameter(
    "window", default: 3, expected: "an integer in 1...255", accepts: { (1...255).contains($0) })
  /// The `clipRange` parameter: when given, the range outputs are clipped to (default: none).
  public static let clipRangeParameter = DefenseParameter(range: "clipRange", default: .unit)

  /// Creates a median filter.
  /// - Parameters:
  ///   - window: The window side k, in 1...255 (1 leaves images unchanged).
  ///   - clipRange: When set, outputs are clipped to it; lower must be below upper.
  /// - Throws: `DefenseParameterError` for a window outside 1...255 or a malformed range.
  public init(
    window: Int = Self.windowParameter.defaultValue, clipRange: ValueRange? = nil
  ) throws(DefenseParameterError) {
    self.window = try Self.windowParameter.validated(window, stage: Self.typeName)
    self.clipRange = try clipRange.map { range throws(DefenseParameterError) in
      try Self.clipRangeParameter.validated(range, stage: Self.typeName)
    }
    network =
      window >= 4 && window <= Self.largestNetworkWindow
      ? PairedMedianNetwork(window: window) : nil
  }

  /// Decodes `{ window: 3, clipRange: [0, 1] }`; both keys are optional.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type, `DefenseParameterError` for values
  ///   out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      window: parameters.value(Self.windowParameter),
      clipRange: parameters.valueIfPresent(Self.clipRangeParameter))
  }

  /// False: the filter is deterministic.
  public var isRandomized: Bool { false }

  /// A fiftieth of the window's area (`bulwark bench defenses`: window 5 runs at about half a
  /// LeNet-5 pass, window 2 at a thirtieth).
  public var relativeCost: Double { Double(window * window) / 50 }

  /// Median-filters every image and channel of `batch`.
  /// - Parameter batch: Images, NHWC.
  /// - Returns: The filtered batch, same shape, labels and class names.
  /// - Complexity: O(N·H·W·C·k²) comparisons in the worst case; far fewer with the network.
  public func process(_ batch: ImageBatch) -> ImageBatch {
    guard window > 1 || clipRange != nil else { return batch }
    let shape = batch.shape
    let size = shape.valueCount
    let filter = self
    return batch.mappingImageChunks(chunkSize: 32, threads: threadCount) {
      images, source, target in
      var scratch = MedianScratch(window: filter.window, shape: shape)
      defer { scratch.deallocate() }
      for offset in 0..<images.count {
        for channel in 0..<shape.channels {
          filter.smoothPlane(
            source: source + offset * size + channel, target: target + offset * size + channel,
            shape: shape, scratch: &scratch)
        }
      }
    }
  }

  /// Filters one channel of one image; `source` and `target` step by `shape.channels`.
  func smoothPlane(
    source: UnsafePointer<Float>, target: UnsafeMutablePointer<Float>, shape: ImageShape,
    scratch: inout MedianScratch
  ) {
    let height = shape.height
    let width = shape.width
    let channels = shape.channels
    let stride = scratch.rowStride
    let plane = scratch.plane
    // The padded plane: (height + k - 1) rows of `stride` values, reflect border; the reflected
    // offsets are tabulated once per worker.
    let rowOffsets = scratch.rowOffsets
    let columnOffsets = scratch.columnOffsets
    // For the paired network, each padded row is stored as its even columns, then (from
    // `halfStride`) its odd columns, so that pairs of windows load contiguously.
    let half = scratch.halfStride
    for row in 0..<(height &+ window &- 1) {
      let sourceRow = source + rowOffsets[row]
      let planeRow = plane + row &* stride
      if network == nil {
        for column in 0..<(width &+ window &- 1) {
          planeRow[column] = sourceRow[columnOffsets[column]]
        }
      } else {
        for column in 0..<(width &+ window &- 1) {
          planeRow[(column & 1) &* half &+ column >> 1] = sourceRow[columnOffsets[column]]
        }
      }
    }
    if window == 2 || window == 3 {
      smoothSmallWindow(target: target, shape: shape, scratch: &scratch)
    } else if let network {
      smoothWithNetwork(network, target: target, shape: shape, scratch: &scratch)
    } else {
      smoothBySelection(target: target, shape: shape, scratch: &scratch)
    }
    if let clipRange {
      for index in 0..<(height &* width) {
        let offset = index &* channels
        target[offset] = clipRange.clip(target[offset])
      }
    }
  }

  private func smoothWithNetwork(
    _ network: PairedMedianNetwork, target: UnsafeMutablePointer<Float>, shape: ImageShape,
    scratch: inout MedianScratch
  ) {
    let k = window
    let width = shape.width
    let channels = shape.channels
    let stride = scratch.rowStride
    let half = scratch.halfStride
    let plane = UnsafeRawPointer(scratch.plane)
    let even = scratch.evenColumns
    let odd = scratch.oddColumns
    let registers = scratch.registers
    let evenOutput = scratch.outputRow
    let oddOutput = scratch.outputRow + half
    let pairBlocks = ((width &+ 1) / 2 &+ 15) / 16
    let ownOffset = k / 2
    let ownColumns = k % 2 == 0 ? even : odd
    @inline(__always) func load(_ base: UnsafeMutablePointer<Float>, _ index: Int) -> SIMD16<Float>
    {
      UnsafeRawPointer(base + index).loadUnaligned(as: SIMD16<Float>.self)
    }
    network.columnComparators.withUnsafeBufferPointer { columnOps in
      network.sharedComparators.withUnsafeBufferPointer { sharedOps in
        for row in 0..<shape.height {
          // Stage 1: sort every column of the k rows starting at `row`, even and odd image
          // columns apart.
          for (parity, sorted) in [(0, even), (1, odd)] {
            for block in 0..<((scratch.columnBlocks &+ 1) / 2) {
              let x = parity &* half &+ block &* 16
              for element in 0..<k {
                registers.storeBytes(
                  of: (plane + ((row &+ element) &* stride &+ x) &* 4)
                    .loadUnaligned(as: SIMD16<Float>.self),
                  toByteOffset: element &* 64, as: SIMD16<Float>.self)
              }
              ComparatorNetwork.run(columnOps, on: registers)
              for element in 0..<k where network.columnRankSlots[element] >= 0 {
                UnsafeMutableRawPointer(sorted + (element &* half &+ block &* 16)).copyMemory(
                  from: registers + network.columnRankSlots[element] &* 64, byteCount: 64)
              }
            }
          }
          // Stages 2 and 3 for windows 2i and 2i + 1, 16 values of i at a time.
          for block in 0..<pairBlocks {
            let i = block &* 16
            var slot = 0
            for column in 1..<k {
              let source = column % 2 == 0 ? even : odd
              let offset = i &+ column / 2
              for element in 0..<k {
                if network.sharedSlotUsed[slot] {
                  registers.storeBytes(
                    of: load(source, element &* half &+ offset), toByteOffset: slot &* 64,
                    as: SIMD16<Float>.self)
                }
                slot &+= 1
              }
            }
            ComparatorNetwork.run(sharedOps, on: registers)
            // Stage 3, windows 2i (own column 2i) and 2i + 1 (own column 2i + k).
            for (own, offset, output) in [
              (even, 0, evenOutput), (ownColumns, ownOffset, oddOutput),
            ] {
              var result = registers.load(
                fromByteOffset: network.sharedRankSlots[k] &* 64, as: SIMD16<Float>.self)
              for index in 1...k {
                let shared = registers.load(
                  fromByteOffset: network.sharedRankSlots[k &- index] &* 64,
                  as: SIMD16<Float>.self)
                let column = load(own, (index &- 1) &* half &+ i &+ offset)
                result = minimum(result, maximum(shared, column))
              }
              UnsafeMutableRawPointer(output + i).storeBytes(of: result, as: SIMD16<Float>.self)
            }
          }
          let targetRow = target + row &* width &* channels
          for column in 0..<width {
            let source = column & 1 == 0 ? evenOutput : oddOutput
            targetRow[column &* channels] = source[column >> 1]
          }
        }
      }
    }
  }

  private func smoothBySelection(
    target: UnsafeMutablePointer<Float>, shape: ImageShape, scratch: inout MedianScratch
  ) {
    let stride = scratch.rowStride
    let window = self.window
    let rank = window * window / 2
    let values = scratch.window
    for row in 0..<shape.height {
      for column in 0..<shape.width {
        var count = 0
        for dy in 0..<window {
          let planeRow = scratch.plane + ((row &+ dy) &* stride &+ column)
          for dx in 0..<window {
            values[count] = planeRow[dx]
            count &+= 1
          }
        }
        target[(row &* shape.width &+ column) &* shape.channels] = Self.select(
          rank, in: values, count: count)
      }
    }
  }

  /// The value at sorted position `rank` of `values[0..<count]` (Hoare's quickselect; reorders
  /// the buffer).
  static func select(_ rank: Int, in values: UnsafeMutablePointer<Float>, count: Int) -> Float {
    var low = 0
    var high = count &- 1
    while low < high {
      let pivot = values[low &+ (high &- low) / 2]
      var i = low
      var j = high
      while i <= j {
        while values[i] < pivot { i &+= 1 }
        while pivot < values[j] { j &-= 1 }
        if i <= j {
          let swap = values[i]
          values[i] = values[j]
          values[j] = swap
          i &+= 1
          j &-= 1
        }
      }
      if rank <= j {
        high = j
      } else if rank >= i {
        low = i
      } else {
        break
      }
    }
    return values[rank]
  }

  /// scipy's "reflect" index mapping: `index` folded into `0..<count`, period `2 * count`.
  static func reflect(_ index: Int, _ count: Int) -> Int {
    let period = 2 &* count
    var folded = index % period
    if folded < 0 { folded &+= period }
    return folded < count ? folded : period &- 1 &- folded
  }
}

/// Buffers one worker reuses for every image it filters.
struct MedianScratch {
  let rowStride: Int
  let columnBlocks: Int
  let plane: UnsafeMutablePointer<Float>
  let columns: UnsafeMutablePointer<Float>
  /// Untyped room for 16-lane registers, 64 bytes each (see `ComparatorNetwork.run`).
  let registers: UnsafeMutableRawPointer
  /// Values per rank in `evenColumns` and `oddColumns`.
  let halfStride: Int
  let evenColumns: UnsafeMutablePointer<Float>
  let oddColumns: UnsafeMutablePointer<Float>
  let outputRow: UnsafeMutablePointer<Float>
  let window: UnsafeMutablePointer<Float>
  /// Offset in the source image of each padded row's first value (reflect border).
  let rowOffsets: UnsafeMutablePointer<Int>
  /// Offset within a source row of each padded column's value (reflect border).
  let columnOffsets: UnsafeMutablePointer<Int>

  init(window k: Int, shape: ImageShape) {
    let outputWidth = (shape.width + 31) / 32 * 32
    // Columns read by the merge stage reach outputWidth + k - 1.
    columnBlocks = (outputWidth + k - 1 + 15) / 16
    halfStride = columnBlocks * 8 + 16
    rowStride = 2 * halfStride
    let rows = shape.height + k - 1
    plane = .allocate(capacity: rows * rowStride)
    plane.initialize(repeating: 0, count: rows * rowStride)
    columns = .allocate(capacity: k * rowStride)
    columns.initialize(repeating: 0, count: k * rowStride)
    registers = .allocate(byteCount: (k * k + k) * 64, alignment: 64)
    registers.initializeMemory(as: Float.self, repeating: 0, count: (k * k + k) * 16)
    evenColumns = .allocate(capacity: k * halfStride)
    evenColumns.initialize(repeating: 0, count: k * halfStride)
    oddColumns = .allocate(capacity: k * halfStride)
    oddColumns.initialize(repeating: 0, count: k * halfStride)
    outputRow = .allocate(capacity: 2 * halfStride)
    outputRow.initialize(repeating: 0, count: 2 * halfStride)
    window = .allocate(capacity: k * k)
    window.initialize(repeating: 0, count: k * k)
    rowOffsets = .allocate(capacity: rows)
    for row in 0..<rows {
      rowOffsets[row] =
        SpatialSmoothing.reflect(row - k / 2, shape.height) * shape.width * shape.channels
    }
    let paddedWidth = shape.width + k - 1
    columnOffsets = .allocate(capacity: paddedWidth)
    for column in 0..<paddedWidth {
      columnOffsets[column] = SpatialSmoothing.reflect(column - k / 2, shape.width) * shape.channels
    }
  }

  func deallocate() {
    plane.deallocate()
    columns.deallocate()
    registers.deallocate()
    evenColumns.deallocate()
    oddColumns.deallocate()
    outputRow.deallocate()
    window.deallocate()
    rowOffsets.deallocate()
    columnOffsets.deallocate()
  }
}
