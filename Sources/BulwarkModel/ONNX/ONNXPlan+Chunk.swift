extension ONNXPlan {
  /// Forward (and, with a loss head, backward) pass of one chunk of `count` images starting at
  /// image `offset` of `total`; writes the logits and input gradient and returns the summed
  /// cross-entropy (0 without it).
  func runChunk(
    workspace: UnsafeMutablePointer<Float>, count: Int, total: Int, offset: Int,
    pixels: UnsafePointer<Float>, logits: UnsafeMutablePointer<Float>, head: LossHead?,
    inputGradient: UnsafeMutablePointer<Float>?
  ) -> Double {
    let backward = head != nil
    // A pass that keeps a gradient keeps every slot; one that does not shares their room.
    let activationCount = backward ? chunkSize * slotSizes.reduce(0, +) : inferenceActivations
    let offsets = backward ? slotOffsets : inferenceOffsets
    func value(_ slot: Int) -> UnsafeMutablePointer<Float> { workspace + offsets[slot] }
    func gradient(_ slot: Int) -> UnsafeMutablePointer<Float> {
      workspace + activationCount + slotOffsets[slot]
    }
    let temporary = workspace + 2 * activationCount
    let scratch =
      workspace + (backward ? 2 * activationCount + chunkSize * maximumSlot : activationCount)

    // NHWC to NCHW.
    let (channels, planeSize) = (inputShape[0], inputShape[1] * inputShape[2])
    let imageSize = channels &* planeSize
    let first = value(inputSlot)
    if channels == 1 {
      first.update(from: pixels, count: count &* planeSize)
    } else {
      for image in 0..<count {
        let source = pixels + image &* imageSize
        let target = first + image &* imageSize
        for pixel in 0..<planeSize {
          for channel in 0..<channels {
            target[channel &* planeSize &+ pixel] = source[pixel &* channels &+ channel]
          }
        }
      }
    }
    for step in backward ? steps : inferenceSteps {
      step.forward(
        count: count, inputs: step.inputs.map { UnsafePointer(value($0)) },
        output: value(step.output), scratch: scratch)
    }
    logits.update(from: value(outputSlot), count: count &* classes)
    guard let head, let inputGradient else { return 0 }

    workspace.advanced(by: activationCount).update(repeating: 0, count: activationCount)
    var loss = 0.0
    let logitGradient = gradient(outputSlot)
    switch head {
    case .crossEntropy(let labels):
      let scale = 1 / Double(total)
      for image in 0..<count {
        loss += CrossEntropyLoss.rowLoss(
          logits + image &* classes, classes: classes, label: labels[offset + image],
          scale: scale, gradient: logitGradient + image &* classes)
      }
    case .upstream(let given):
      given.withUnsafeBufferPointer { values in
        logitGradient.update(
          from: values.baseAddress.unsafelyUnwrapped + offset &* classes, count: count &* classes)
      }
    case .perRow(let rowGradient):
      for image in 0..<count {
        rowGradient(
          offset + image, UnsafeBufferPointer(start: logits + image &* classes, count: classes),
          UnsafeMutableBufferPointer(start: logitGradient + image &* classes, count: classes))
      }
    }
    for step in steps.reversed() where needsGradient[step.output] {
      step.backward(
        count: count, inputs: step.inputs.map { UnsafePointer(value($0)) },
        output: value(step.output), outputGradient: gradient(step.output),
        inputGradients: step.inputs.map { needsGradient[$0] ? gradient($0) : nil },
        temporary: temporary, scratch: scratch)
    }
    // NCHW to NHWC.
    let source = gradient(inputSlot)
    for image in 0..<count {
      let from = source + image &* imageSize
      let to = inputGradient + image &* imageSize
      for pixel in 0..<planeSize {
        for channel in 0..<channels {
          to[pixel &* channels &+ channel] = from[channel &* planeSize &+ pixel]
        }
      }
    }
    return loss
  }
}
