import BulwarkCore

extension Network {
  /// Forward (and, with a `head`, backward) pass of one chunk of `count` images starting at
  /// image `offset` of a batch of `total` (the mean loss divides by `total`). Writes the
  /// chunk's logits, its input gradient when asked, and adds its parameter gradients to
  /// `parameterGradient` when given; returns the summed cross-entropy plus the weighted KL
  /// divergence of its sampling stages (0 without a loss).
  func runChunk(
    _ prepared: PreparedPass, workspace: UnsafeMutablePointer<Float>, count: Int, total: Int,
    offset: Int,
    pixels: UnsafePointer<Float>, logits: UnsafeMutablePointer<Float>, head: LossHead?,
    inputGradient: UnsafeMutablePointer<Float>?, parameterGradient: UnsafeMutablePointer<Float>?
  ) -> Double {
    let stages = prepared.stages
    let parameters = prepared.parameters.baseAddress.unsafelyUnwrapped
    // Activations: the input of every stage, then the logits; forward only, two buffers used
    // in turn.
    let classes = architecture.classes
    let gradientSize = count * prepared.maximumActivation
    var offsets = [0]
    for (index, stage) in stages.enumerated() {
      offsets.append(
        head == nil
          ? (index + 1) % 2 * gradientSize : offsets[offsets.count - 1] + count * stage.input.count)
    }
    let activationCount =
      head == nil ? 2 * gradientSize : offsets[offsets.count - 1] + count * classes
    let activation = { (index: Int) in workspace + offsets[index] }
    var gradientA = workspace + activationCount
    var gradientB = gradientA + (head == nil ? 0 : gradientSize)
    let scratch = gradientB + (head == nil ? 0 : gradientSize)

    // NHWC to CHW.
    let shape = architecture.input
    let planeSize = shape.height * shape.width
    let first = activation(0)
    if shape.channels == 1 {
      first.update(from: pixels, count: count &* planeSize)
    } else {
      for image in 0..<count {
        let source = pixels + image &* shape.valueCount
        let target = first + image &* shape.valueCount
        for pixel in 0..<planeSize {
          for channel in 0..<shape.channels {
            target[channel &* planeSize &+ pixel] = source[pixel &* shape.channels &+ channel]
          }
        }
      }
    }

    // The chunk's summed KL divergence of its sampling stages' Gaussians, when it is a loss term.
    var divergence = 0.0
    for (index, stage) in stages.enumerated() {
      let input = UnsafePointer(activation(index))
      let output = activation(index + 1)
      let weight = parameters + stage.parameterOffset
      switch stage.operation {
      case .conv(let kernel, let stride, let padding, let groups):
        let conv = Convolution(
          stage, kernel: kernel, stride: stride, padding: padding, groups: groups)
        conv.forward(
          input: input, output: output, count: count, weight: weight,
          bias: weight + conv.outChannels * conv.groupRows, packed: prepared.packedWeights[index],
          scratch: scratch)
      case .maxPool(let kernel, let stride):
        Pooling(stage, count: count, kernel: kernel, stride: stride).maxForward(input, output)
      case .avgPool(let kernel, let stride):
        Pooling(stage, count: count, kernel: kernel, stride: stride).averageForward(input, output)
      case .globalAvgPool:
        Pooling(stage, count: count, kernel: nil, stride: nil).averageForward(input, output)
      case .upsample(let factor):
        Upsampling(stage, count: count, factor: factor).forward(input, output)
      case .linear:
        let dense = Dense(inputs: stage.input.channels, outputs: stage.output.channels)
        prepared.transposedWeights[index].invariant("a linear stage has its transposed weights")
          .withUnsafeBufferPointer {
            dense.forward(
              input, output, count: count, transposedWeight: $0.baseAddress.unsafelyUnwrapped,
              bias: weight + dense.inputs * dense.outputs)
          }
      case .relu:
        Network.relu(input, output, count: count &* stage.input.count)
      case .identity:
        output.update(from: input, count: count &* stage.input.count)
      case .dropout(let probability):
        Network.dropout(
          input, output, count: count, values: stage.input.count, firstImage: offset,
          probability: probability, mode: prepared.mode, stage: index)
      case .gaussianSample:
        let sample = GaussianSample(
          stage, index: index, count: count, firstImage: offset, mode: prepared.mode)
        sample.forward(input, output)
        if head != nil, prepared.klWeight != 0 { divergence += sample.divergence(input) }
      case .batchNorm:
        let batchNorm = prepared.batchNorms[index].invariant(
          "a batch-norm stage has its folded parameters")
        if let statistics = prepared.statistics {
          batchNorm.trainingForward(
            input, output, count: count,
            statistics: statistics
              + prepared.statisticsOffsets[index].invariant("a batch-norm stage has its statistics")
          )
        } else {
          batchNorm.forward(input, output, count: count)
        }
      case .softmax:
        preconditionFailure("a trailing softmax is not part of the logit stages")
      }
    }
    let output = activation(stages.count)
    logits.update(from: output, count: count * classes)

    guard let head else { return 0 }
    // Gradient on the logits.
    var loss = prepared.klWeight * divergence
    switch head {
    case .crossEntropy(let labels):
      let scale = 1 / Double(total)
      for image in 0..<count {
        loss += CrossEntropyLoss.rowLoss(
          output + image * classes, classes: classes, label: labels[offset + image],
          scale: scale, gradient: gradientA + image * classes)
      }
    case .upstream(let values):
      values.withUnsafeBufferPointer {
        gradientA.update(
          from: $0.baseAddress.unsafelyUnwrapped + offset * classes, count: count * classes)
      }
    case .perRow(let rowGradient):
      for image in 0..<count {
        rowGradient(
          offset + image, UnsafeBufferPointer(start: output + image * classes, count: classes),
          UnsafeMutableBufferPointer(start: gradientA + image * classes, count: classes))
      }
    }

    for index in stages.indices.reversed() {
      let stage = stages[index]
      let input = UnsafePointer(activation(index))
      let output = UnsafePointer(activation(index + 1))
      let upstream = UnsafePointer(gradientA)
      let needsInput = index > 0 || inputGradient != nil
      let downstream: UnsafeMutablePointer<Float>? = needsInput ? gradientB : nil
      let weight = parameters + stage.parameterOffset
      let weightGradient = parameterGradient.map { $0 + stage.parameterOffset }
      switch stage.operation {
      case .conv(let kernel, let stride, let padding, let groups):
        let conv = Convolution(
          stage, kernel: kernel, stride: stride, padding: padding, groups: groups)
        conv.backward(
          input: input, outputGradient: upstream, count: count, weight: weight,
          packed: prepared.packedWeights[index], inputGradient: downstream,
          weightGradient: weightGradient,
          biasGradient: weightGradient.map { $0 + conv.outChannels * conv.groupRows },
          scratch: scratch)
      case .maxPool(let kernel, let stride):
        if let downstream {
          Pooling(stage, count: count, kernel: kernel, stride: stride)
            .maxBackward(input, upstream, downstream)
        }
      case .avgPool(let kernel, let stride):
        if let downstream {
          Pooling(stage, count: count, kernel: kernel, stride: stride)
            .averageBackward(upstream, downstream)
        }
      case .globalAvgPool:
        if let downstream {
          Pooling(stage, count: count, kernel: nil, stride: nil)
            .averageBackward(upstream, downstream)
        }
      case .upsample(let factor):
        if let downstream {
          Upsampling(stage, count: count, factor: factor).backward(upstream, downstream)
        }
      case .linear:
        let dense = Dense(inputs: stage.input.channels, outputs: stage.output.channels)
        dense.backward(
          input, upstream, count: count, weight: weight, inputGradient: downstream,
          weightGradient: weightGradient,
          biasGradient: weightGradient.map { $0 + dense.inputs * dense.outputs })
      case .relu:
        if let downstream {
          Network.reluBackward(output, upstream, downstream, count: count &* stage.input.count)
        }
      case .identity:
        if let downstream { downstream.update(from: upstream, count: count &* stage.input.count) }
      case .dropout(let probability):
        // The mask is drawn again from the same streams, so it is the forward pass's.
        if let downstream {
          Network.dropout(
            upstream, downstream, count: count, values: stage.input.count, firstImage: offset,
            probability: probability, mode: prepared.mode, stage: index)
        }
      case .gaussianSample:
        if let downstream {
          GaussianSample(stage, index: index, count: count, firstImage: offset, mode: prepared.mode)
            .backward(
              input, upstream, downstream,
              divergenceScale: Float(prepared.klWeight / Double(total)))
        }
      case .batchNorm:
        let batchNorm = prepared.batchNorms[index].invariant(
          "a batch-norm stage has its folded parameters")
        if let statistics = prepared.statistics {
          batchNorm.trainingBackward(
            input, upstream, count: count,
            statistics: statistics
              + prepared.statisticsOffsets[index].invariant(
                "a batch-norm stage has its statistics"),
            inputGradient: downstream, parameterGradient: weightGradient)
        } else {
          batchNorm.backward(
            input, upstream, count: count, inputGradient: downstream,
            parameterGradient: weightGradient)
        }
      case .softmax:
        preconditionFailure("a trailing softmax is not part of the logit stages")
      }
      swap(&gradientA, &gradientB)
    }

    // CHW back to NHWC.
    if let inputGradient {
      for image in 0..<count {
        let source = gradientA + image &* shape.valueCount
        let target = inputGradient + image &* shape.valueCount
        for pixel in 0..<planeSize {
          for channel in 0..<shape.channels {
            target[pixel &* shape.channels &+ channel] = source[channel &* planeSize &+ pixel]
          }
        }
      }
    }
    return loss
  }

  /// `max(x, 0)`, eight values at a time.
  static func relu(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int)
  {
    typealias V = SIMD8<Float>
    let source = UnsafeRawPointer(input)
    let target = UnsafeMutableRawPointer(output)
    var index = 0
    while index &+ 8 <= count {
      let value = source.loadUnaligned(fromByteOffset: index &* 4, as: V.self)
      target.storeBytes(
        of: value.replacing(with: 0, where: .!(value .> 0)), toByteOffset: index &* 4, as: V.self)
      index &+= 8
    }
    while index < count {
      output[index] = input[index] > 0 ? input[index] : 0
      index &+= 1
    }
  }

  /// The gradient through `max(x, 0)` from its output: the upstream gradient where the output
  /// is positive, else 0 (NaN outputs pass none), eight values at a time.
  static func reluBackward(
    _ output: UnsafePointer<Float>, _ upstream: UnsafePointer<Float>,
    _ downstream: UnsafeMutablePointer<Float>, count: Int
  ) {
    typealias V = SIMD8<Float>
    let values = UnsafeRawPointer(output)
    let gradients = UnsafeRawPointer(upstream)
    let target = UnsafeMutableRawPointer(downstream)
    var index = 0
    while index &+ 8 <= count {
      let value = values.loadUnaligned(fromByteOffset: index &* 4, as: V.self)
      let gradient = gradients.loadUnaligned(fromByteOffset: index &* 4, as: V.self)
      target.storeBytes(
        of: gradient.replacing(with: 0, where: .!(value .> 0)), toByteOffset: index &* 4,
        as: V.self)
      index &+= 8
    }
    while index < count {
      downstream[index] = output[index] > 0 ? upstream[index] : 0
      index &+= 1
    }
  }

  /// Dropout of `count` images of `values` values, the first being image `firstImage` of the
  /// batch. In evaluation mode the values pass unchanged; in training mode each is kept with
  /// probability `1 - probability` and scaled by `1 / (1 - probability)`, else zeroed. Each
  /// image's mask comes from its own stream of the mode's seed (per stage and image), so it
  /// does not depend on chunking; the backward pass calls this again on the gradient to apply
  /// the same mask.
  static func dropout(
    _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
    values: Int, firstImage: Int, probability: Double, mode: Mode, stage: Int
  ) {
    guard case .training(let seed) = mode else {
      output.update(from: input, count: count &* values)
      return
    }
    let scale = Float(1 / (1 - probability))
    for image in 0..<count {
      var generator = trainingStream(seed: seed, stage: stage, image: firstImage + image)
      let start = image * values
      for index in start..<(start + values) {
        output[index] = generator.unitDouble() < probability ? 0 : input[index] * scale
      }
    }
  }

  /// The random stream of one image at one stage in training mode (a dropout mask, a latent
  /// code's noise): its own per stage and batch index, so the draws do not depend on chunking
  /// or threads, and a backward pass that draws again gets the forward pass's values.
  static func trainingStream(seed: UInt64, stage: Int, image: Int) -> SeededGenerator {
    SeededGenerator(seed: seed, stream: UInt64(stage + 1) << 40 | UInt64(image))
  }
}
