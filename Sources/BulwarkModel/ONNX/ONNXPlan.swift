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
  /// Images per chunk: as many as fit ``activationBudget`` with every slot kept, at most 16.
  /// Only a pass that keeps a gradient has results that depend on it (its loss is summed chunk
  /// by chunk); a pass that keeps none computes each image's logits on their own.
  var chunkSize: Int
  /// The start of each slot in a chunk's buffer, in values.
  var slotOffsets: [Int]
  var maximumSlot: Int
  var scratchSize: Int
  /// Whether each slot depends on the input (others need no gradient).
  var needsGradient: [Bool]
  /// The steps of a pass that keeps no gradient: ``steps`` with each max pooling that only a
  /// directly run convolution feeds folded into it (``Convolution/pooling``), so that the
  /// convolution's outputs are never written.
  var inferenceSteps: [ONNXStep]
  /// Where each slot starts in the workspace of a pass that keeps no gradient, in values: a slot
  /// takes room that another left once ``inferenceSteps`` no longer read it, so that a chunk's
  /// live activations stay in cache (slots the pass never writes start at 0).
  var inferenceOffsets: [Int]
  /// The values those slots span.
  var inferenceActivations: Int

  /// The activation values a chunk's slots may span by default, about 16 MB.
  static let activationBudget = 4_000_000

  /// A plan of `steps`; `foldsPools` false keeps every pooling a step of its own, and `budget`
  /// bounds a chunk's activation values (tests lower it to run several chunk sizes).
  init(
    steps: [ONNXStep], slotSizes: [Int], inputSlot: Int, outputSlot: Int, inputShape: [Int],
    classes: Int, foldsPools: Bool = true, budget: Int = activationBudget
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
    chunkSize = max(1, min(16, budget / max(perImage, 1)))
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
    inferenceSteps = foldsPools ? Self.foldingPools(self.steps, outputSlot: outputSlot) : self.steps
    let chunk = chunkSize
    (inferenceOffsets, inferenceActivations) = Self.sharedRoom(
      for: inferenceSteps, sizes: slotSizes.map { $0 * chunk }, inputSlot: inputSlot,
      outputSlot: outputSlot)
  }

  /// Offsets for slots of `sizes` values, written and read by `steps` in order: each slot is
  /// placed, when its step runs, in the first gap between the slots still to be read that
  /// holds it (the step's inputs among them), and leaves its room after its last reader. The
  /// input slot is placed first and the output slot kept to the end.
  static func sharedRoom(
    for steps: [ONNXStep], sizes: [Int], inputSlot: Int, outputSlot: Int
  ) -> (offsets: [Int], extent: Int) {
    var lastReader = [Int](repeating: -1, count: sizes.count)
    for (index, step) in steps.enumerated() {
      lastReader[step.output] = max(lastReader[step.output], index)
      for slot in step.inputs { lastReader[slot] = index }
    }
    lastReader[outputSlot] = steps.count
    var offsets = [Int](repeating: 0, count: sizes.count)
    var live: [(slot: Int, start: Int, end: Int)] = []
    var extent = 0
    func place(_ slot: Int) {
      var start = 0
      for block in live.sorted(by: { $0.start < $1.start }) {
        if block.start - start >= sizes[slot] { break }
        start = max(start, block.end)
      }
      offsets[slot] = start
      live.append((slot, start, start + sizes[slot]))
      extent = max(extent, start + sizes[slot])
    }
    place(inputSlot)
    lastReader[inputSlot] = max(lastReader[inputSlot], 0)
    for (index, step) in steps.enumerated() {
      place(step.output)
      live.removeAll { lastReader[$0.slot] <= index }
    }
    return (offsets, extent)
  }

  /// `steps` with each max pooling folded into the convolution that alone feeds it, where the
  /// convolution ``Convolution/folds(_:)`` it: the convolution's step writes the pooling's
  /// output instead of its own.
  static func foldingPools(_ steps: [ONNXStep], outputSlot: Int) -> [ONNXStep] {
    var readers: [Int: Int] = [:]
    for step in steps {
      for slot in step.inputs { readers[slot, default: 0] += 1 }
    }
    var producers: [Int: Int] = [:]
    for (index, step) in steps.enumerated() { producers[step.output] = index }
    var folded = steps
    var foldedPools: Set<Int> = []
    for (index, step) in steps.enumerated() {
      guard case .maxPool(let pool) = step.operation, let slot = step.inputs.first,
        slot != outputSlot, readers[slot] == 1, let producer = producers[slot],
        case .conv(var conv, let weight, let bias) = steps[producer].operation,
        conv.folds(pool)
      else { continue }
      conv.pooling = pool
      folded[producer].operation = .conv(conv, weight: weight, bias: bias)
      folded[producer].output = step.output
      folded[producer].outputSize = step.outputSize
      foldedPools.insert(index)
    }
    return folded.indices.filter { !foldedPools.contains($0) }.map { folded[$0] }
  }

  /// Values one worker needs for a chunk.
  func workspaceSize(backward: Bool) -> Int {
    let activations = chunkSize * slotSizes.reduce(0, +)
    return (backward ? 2 * activations + chunkSize * maximumSlot : inferenceActivations)
      + scratchSize
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
