import BulwarkCore

/// The compiled form of an ONNX graph: steps over slots of per-image values, run a fixed-size
/// chunk of images at a time on several threads.
///
/// Every slot holds `chunk x size` values, image after image, in NCHW order. Results do not
/// depend on the thread count: chunks are fixed and the loss is summed in chunk order.
struct ONNXPlan: Sendable {
  var steps: [ONNXStep]
  var slotSizes: [Int]
  var inputSlot: Int
  var outputSlot: Int
  /// Channels, height, width of one input image.
  var inputShape: [Int]
  var classes: Int
  /// Images per chunk: as many as fit a budget of about 4 million activation values.
  var chunkSize: Int
  /// The start of each slot in a chunk's buffer, in values.
  var slotOffsets: [Int]
  var maximumSlot: Int
  var scratchSize: Int
  /// Whether each slot depends on the input (others need no gradient).
  var needsGradient: [Bool]

  init(
    steps: [ONNXStep], slotSizes: [Int], inputSlot: Int, outputSlot: Int, inputShape: [Int],
    classes: Int
  ) {
    self.steps = steps.map { step in
      var step = step
      switch step.operation {
      case .conv(let conv, let weight, _), .transposedConv(let conv, let weight, _):
        step.packedWeights = weight.withUnsafeBufferPointer {
          conv.pack($0.baseAddress.unsafelyUnwrapped, backward: true)
        }
      default:
        break
      }
      return step
    }
    self.slotSizes = slotSizes
    self.inputSlot = inputSlot
    self.outputSlot = outputSlot
    self.inputShape = inputShape
    self.classes = classes
    let perImage = slotSizes.reduce(0, +)
    chunkSize = max(1, min(16, 4_000_000 / max(perImage, 1)))
    var offsets: [Int] = []
    var offset = 0
    for size in slotSizes {
      offsets.append(offset)
      offset += size * chunkSize
    }
    slotOffsets = offsets
    maximumSlot = slotSizes.max() ?? 1
    scratchSize = max(1, steps.map(\.scratchSize).max() ?? 1)
    var needs = [Bool](repeating: false, count: slotSizes.count)
    needs[inputSlot] = true
    for step in steps where step.inputs.contains(where: { needs[$0] }) {
      needs[step.output] = true
    }
    needsGradient = needs
  }

  /// Values one worker needs for a chunk.
  func workspaceSize(backward: Bool) -> Int {
    let activations = chunkSize * slotSizes.reduce(0, +)
    return (backward ? 2 * activations + chunkSize * maximumSlot : activations) + scratchSize
  }

  /// Runs `count` NHWC images forward, and backward from `head` (cross-entropy on labels, or a
  /// gradient given on the logits) when given.
  /// - Precondition: `pixels` holds `count` images of `inputShape`; labels or the gradient
  ///   are valid.
  func run(_ pixels: [Float], count: Int, head: LossHead?, threads: Int) -> (
    logits: [Float], loss: Double, inputGradient: [Float]
  ) {
    let imageSize = inputShape.reduce(1, *)
    let chunkCount = (count + chunkSize - 1) / chunkSize
    // At least one value each, so every buffer has a base address.
    var logits = [Float](repeating: 0, count: max(1, count * classes))
    var gradient = [Float](repeating: 0, count: head == nil ? 1 : max(1, count * imageSize))
    var losses = [Double](repeating: 0, count: max(1, chunkCount))
    let backward = head != nil
    let workers = Parallel.workerCount(chunkCount, threads: threads)
    let size = workspaceSize(backward: backward)
    let workspaces = UnsafeMutablePointer<Float>.allocate(capacity: workers * size)
    defer { workspaces.deallocate() }
    let workspace = SharedPointer(base: workspaces)
    pixels.withUnsafeBufferPointer { pixelBuffer in
      logits.withUnsafeMutableBufferPointer { logitBuffer in
        gradient.withUnsafeMutableBufferPointer { gradientBuffer in
          losses.withUnsafeMutableBufferPointer { lossBuffer in
            let shared = (
              pixels: SharedPointer(
                base: pixelBuffer.baseAddress.map { UnsafeMutablePointer(mutating: $0) }
                  ?? workspaces),
              logits: SharedPointer(base: logitBuffer.baseAddress.unsafelyUnwrapped),
              gradient: SharedPointer(base: gradientBuffer.baseAddress.unsafelyUnwrapped),
              losses: SharedPointer(base: lossBuffer.baseAddress.unsafelyUnwrapped)
            )
            Parallel.forEach(chunkCount, workers: workers) { worker, chunk in
              let start = chunk * self.chunkSize
              shared.losses.base[chunk] = self.runChunk(
                workspace: workspace.base + worker * size,
                count: min(self.chunkSize, count - start), total: count, offset: start,
                pixels: UnsafePointer(shared.pixels.base + start * imageSize),
                logits: shared.logits.base + start * self.classes, head: head,
                inputGradient: backward ? shared.gradient.base + start * imageSize : nil)
            }
          }
        }
      }
    }
    let loss = losses.prefix(chunkCount).reduce(0, +)
    return (
      Array(logits.prefix(count * classes)), count > 0 ? loss / Double(count) : 0,
      head == nil ? [] : Array(gradient.prefix(count * imageSize))
    )
  }
}
