import BulwarkCore

/// What the last layer's gradient comes from in a backward pass.
enum LossHead: Sendable {
  /// Mean cross-entropy against one class index per image.
  case crossEntropy(labels: [Int])
  /// A gradient on the logits given by the caller, N x classes.
  case upstream([Float])
  /// A gradient on each image's logits computed from them during the pass (see
  /// `Classifier.logitsAndInputGradient(_:rowGradient:)`).
  case perRow(LogitRowGradient)
}

/// The results of one pass over a batch.
struct PassResult {
  var logits: [Float]
  /// Mean loss for `.crossEntropy`, 0 otherwise, plus the mean weighted KL divergence of the
  /// sampling stages when a backward pass has a KL weight.
  var loss: Double
  /// NHWC, empty unless requested.
  var inputGradient: [Float]
  /// Flat, in parameter order, empty unless requested.
  var parameterGradients: [Float]
  /// Training mode: each batch-norm layer's batch mean and unbiased variance, under the names
  /// of the running statistics they update (`bn1.running_mean`, `bn1.running_var`).
  var batchStatistics: [String: [Float]] = [:]
}

/// Per-pass constants shared by the chunks: transposed linear weights and batch-norm factors.
struct PreparedPass: @unchecked Sendable {
  var stages: [Stage]
  var transposedWeights: [Int: [Float]] = [:]
  var batchNorms: [Int: BatchNorm] = [:]
  /// Each convolution's weights packed for the pass (none on CPUs without AVX2).
  var packedWeights: [Int: Convolution.PackedWeights] = [:]
  var parameters: UnsafeBufferPointer<Float>
  var maximumActivation = 0
  var maximumScratch = 1
  /// The pass's mode; training mode needs the whole batch in one chunk when there is batch norm.
  var mode: Network.Mode = .evaluation
  /// The weight of each image's KL divergence (its sampling stages' Gaussians from `N(0, I)`)
  /// in its loss; 0 for none.
  var klWeight = 0.0
  /// Training mode: where each batch-norm stage writes its batch statistics.
  var statistics: UnsafeMutablePointer<Float>?
  var statisticsOffsets: [Int: Int] = [:]

  /// Values a chunk of `count` images needs: every stage's input (or, forward only, two
  /// alternating buffers), two gradient buffers when going backward, and convolution scratch.
  func workspaceSize(count: Int, classes: Int, backward: Bool) -> Int {
    let activations =
      backward
      ? count * (stages.reduce(0) { $0 + $1.input.count } + classes)
      : 2 * count * maximumActivation
    return activations + (backward ? 2 * count * maximumActivation : 0) + maximumScratch
  }
}

extension Network {
  /// The stages that produce logits: all but a trailing softmax.
  var logitStages: [Stage] {
    if case .softmax = stages.last?.operation { return Array(stages.dropLast()) }
    return stages
  }

  /// Images per chunk of a pass that only goes forward: as many as keep a worker's two
  /// activation buffers within about 8 MB (at least 1, at most ``chunkSize``). The direct
  /// convolutions stream through them, and larger chunks spread each call's setup (its padded
  /// copy of the input) over more images: the RGB CNN's forward pass ran 20-30% faster with 8
  /// images per chunk than with 2 (a 2 MB budget). No result depends on it: a forward pass
  /// computes each image on its own.
  var forwardChunkSize: Int {
    let largest = logitStages.map { max($0.input.count, $0.output.count) }.max() ?? 1
    return max(1, min(Network.chunkSize, 1_048_576 / max(largest, 1)))
  }

  /// Whether the network has a batch-norm layer before its logits.
  var hasBatchNorm: Bool {
    logitStages.contains {
      if case .batchNorm = $0.operation { return true }
      return false
    }
  }

  /// Runs the forward pass, and the backward pass when `head` is given.
  ///
  /// In training mode with batch norm the batch is one chunk, because its statistics span the
  /// whole batch; the result still does not depend on the thread count. A backward pass with a
  /// `klWeight` adds that multiple of each image's KL divergence (of every sampling stage's
  /// Gaussian from `N(0, I)`) to the image's loss, and its gradient at the sampling stages.
  /// - Precondition: `pixels` holds `count` valid images (checked by the public callers).
  func pass(
    pixels: [Float], count: Int, head: LossHead?, wantsInputGradient: Bool,
    wantsParameterGradients: Bool, mode: Mode = .evaluation, klWeight: Double = 0
  ) -> PassResult {
    let classes = architecture.classes
    let imageSize = architecture.input.valueCount
    let parameterCount = parameters.count
    let wholeBatch = mode != .evaluation && hasBatchNorm
    let chunkSize =
      wholeBatch ? max(count, 1) : head == nil ? forwardChunkSize : Network.chunkSize
    let chunkCount = (count + chunkSize - 1) / chunkSize
    // Buffers the chunks write to, each chunk its own range.
    let input = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(pixels.count, 1))
    let logits = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(count * classes, 1))
    let inputGradient = UnsafeMutableBufferPointer<Float>.allocate(
      capacity: wantsInputGradient ? max(pixels.count, 1) : 1)
    let losses = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(chunkCount, 1))
    defer {
      input.deallocate()
      logits.deallocate()
      inputGradient.deallocate()
      losses.deallocate()
    }
    _ = input.initialize(from: pixels)
    losses.initialize(repeating: 0)
    let shared = (
      input: SharedPointer(base: input.baseAddress.unsafelyUnwrapped),
      logits: SharedPointer(base: logits.baseAddress.unsafelyUnwrapped),
      inputGradient: SharedPointer(base: inputGradient.baseAddress.unsafelyUnwrapped),
      losses: SharedPointer(base: losses.baseAddress.unsafelyUnwrapped)
    )
    var parameterGradients = [Float](
      repeating: 0, count: wantsParameterGradients ? parameterCount : 0)
    // Parameter gradients are summed per chunk, then added in chunk order, a wave of chunks at
    // a time to bound memory.
    let wave = max(1, wantsParameterGradients ? min(16, chunkCount) : chunkCount)
    let slots = UnsafeMutableBufferPointer<Float>.allocate(
      capacity: wantsParameterGradients ? wave * parameterCount : 1)
    defer { slots.deallocate() }
    let slotPointer = SharedPointer(base: slots.baseAddress.unsafelyUnwrapped)
    var batchStatistics: [String: [Float]] = [:]
    parameters.withUnsafeBufferPointer { parameterBuffer in
      var setup = prepare(parameterBuffer, backward: head != nil)
      setup.mode = mode
      setup.klWeight = klWeight
      let statisticsCount =
        wholeBatch ? setup.batchNorms.values.reduce(0) { $0 + $1.statisticsCount } : 0
      let statistics = UnsafeMutablePointer<Float>.allocate(capacity: max(statisticsCount, 1))
      defer { statistics.deallocate() }
      if wholeBatch {
        setup.statistics = statistics
        var offset = 0
        for index in setup.batchNorms.keys.sorted() {
          setup.statisticsOffsets[index] = offset
          offset +=
            setup.batchNorms[index].invariant("a batch-norm stage has its folded parameters")
            .statisticsCount
        }
      }
      let prepared = setup
      // One workspace per worker, reused for each of its chunks.
      let workers = Parallel.workerCount(min(wave, chunkCount), threads: options.threads)
      let workspaceSize = prepared.workspaceSize(
        count: chunkSize, classes: classes, backward: head != nil)
      let workspaces = UnsafeMutablePointer<Float>.allocate(capacity: workers * workspaceSize)
      defer { workspaces.deallocate() }
      let workspacePointer = SharedPointer(base: workspaces)
      var waveStart = 0
      while waveStart < chunkCount {
        let waveCount = min(wave, chunkCount - waveStart)
        if wantsParameterGradients {
          slots.baseAddress.unsafelyUnwrapped.update(
            repeating: 0, count: waveCount * parameterCount)
        }
        let first = waveStart
        Parallel.forEach(waveCount, workers: workers) { worker, item in
          let chunk = first + item
          let start = chunk * chunkSize
          shared.losses.base[chunk] = self.runChunk(
            prepared, workspace: workspacePointer.base + worker * workspaceSize,
            count: min(chunkSize, count - start), total: count,
            offset: start, pixels: shared.input.base + start * imageSize,
            logits: shared.logits.base + start * classes, head: head,
            inputGradient: wantsInputGradient ? shared.inputGradient.base + start * imageSize : nil,
            parameterGradient: wantsParameterGradients
              ? slotPointer.base + item * parameterCount : nil)
        }
        if wantsParameterGradients {
          for item in 0..<waveCount {
            let slot = slotPointer.base + item * parameterCount
            for index in 0..<parameterCount { parameterGradients[index] += slot[index] }
          }
        }
        waveStart += waveCount
      }
      if wholeBatch, count > 0 {
        // The mean and the unbiased variance, under the names of the running statistics
        // (the layer's third and fourth tensors).
        for (index, offset) in prepared.statisticsOffsets {
          let stage = prepared.stages[index]
          let channels = stage.input.channels
          for (tensor, position) in [(2, 0), (3, 2)] {
            let start = stage.parameterOffset + tensor * channels
            for running in tensors where running.offset == start {
              batchStatistics[running.name] = Array(
                UnsafeBufferPointer(
                  start: statistics + offset + position * channels, count: channels))
            }
          }
        }
      }
    }
    var loss = 0.0
    for chunk in 0..<chunkCount { loss += losses[chunk] }
    return PassResult(
      logits: Array(logits.prefix(count * classes)),
      loss: count > 0 ? loss / Double(count) : 0,
      inputGradient: wantsInputGradient ? Array(inputGradient.prefix(pixels.count)) : [],
      parameterGradients: parameterGradients, batchStatistics: batchStatistics)
  }

  /// The pass's constants for `parameters`; `backward` packs what a backward pass needs too.
  func prepare(_ parameters: UnsafeBufferPointer<Float>, backward: Bool) -> PreparedPass {
    var prepared = PreparedPass(stages: logitStages, parameters: parameters)
    for (index, stage) in prepared.stages.enumerated() {
      prepared.maximumActivation = max(
        prepared.maximumActivation, stage.input.count, stage.output.count)
      switch stage.operation {
      case .linear:
        let inputs = stage.input.channels
        let outputs = stage.output.channels
        var transposed = [Float](repeating: 0, count: inputs * outputs)
        for row in 0..<outputs {
          for column in 0..<inputs {
            transposed[column * outputs + row] =
              parameters[stage.parameterOffset + row * inputs + column]
          }
        }
        prepared.transposedWeights[index] = transposed
      case .batchNorm(let epsilon):
        prepared.batchNorms[index] = BatchNorm(stage, parameters: parameters, epsilon: epsilon)
      case .conv(let kernel, let stride, let padding, let groups):
        let conv = Convolution(
          stage, kernel: kernel, stride: stride, padding: padding, groups: groups)
        prepared.maximumScratch = max(prepared.maximumScratch, conv.scratchCount)
        prepared.packedWeights[index] = conv.pack(
          parameters.baseAddress.unsafelyUnwrapped + stage.parameterOffset, backward: backward)
      default:
        break
      }
    }
    return prepared
  }
}
