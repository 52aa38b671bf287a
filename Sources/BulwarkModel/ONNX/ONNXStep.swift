import Foundation

/// One compiled operation of an ``ONNXModel``: reads runtime values (slots), writes one, and
/// runs forward over a chunk of images or backward to the input gradients.
///
/// Constant inputs (weights, biases, folded batch norms) are baked in at load time.
struct ONNXStep: Sendable {
  enum BinaryOperator: Sendable {
    case add, subtract, multiply, divide
  }

  /// An elementwise binary operation with NumPy broadcasting; a nil slot side is a constant.
  struct Binary: Sendable {
    var op: BinaryOperator
    var broadcast: ONNXBroadcast
    var leftConstant: [Float]?
    var rightConstant: [Float]?
    var leftSize: Int
    var rightSize: Int
  }

  enum Operation: Sendable {
    /// Weight `M x C/group x kH x kW` (batch norm folded in), bias `M`.
    case conv(Convolution, weight: [Float], bias: [Float])
    /// ConvTranspose as the convolution it transposes (weight `C x M/group x kH x kW`, the
    /// layout both share): the forward pass is that convolution's input gradient, plus a bias
    /// per output channel; the backward pass is the convolution.
    case transposedConv(Convolution, weight: [Float], bias: [Float])
    case relu
    /// Any other elementwise activation.
    case activation(ONNXActivation)
    /// `Pooling` for one image (`planes` = channels).
    case maxPool(Pooling)
    case averagePool(Pooling)
    /// `rows` rows of `inputs` values per image times `weight` (`inputs x outputs`), plus a
    /// bias per output; `transposed` is `outputs x inputs` for the backward pass.
    case dense(
      rows: Int, inputs: Int, outputs: Int, weight: [Float], transposed: [Float],
      bias: [Float])
    case binary(Binary)
    /// Values moved within each image by a map: output value `i` is value `indices[i]` of input
    /// `sources[i]`, or `fill` where `sources[i]` is -1 (Concat, Split, Slice, Transpose and
    /// Pad on image values).
    case gather(sources: [Int32], indices: [Int32], fill: Float)
    /// The mean of the values of each image that share a target: output value `targets[i]`
    /// receives input value `i`, each output the mean of `divisor` inputs (ReduceMean over
    /// any axes but the batch).
    case reduceMean(targets: [Int32], divisor: Float)
    /// Layer normalisation of each group of `groupSize` consecutive values (the trailing axes
    /// from the normalised one): `(x - mean) / √(variance + epsilon) * scale + bias`, the
    /// variance biased, scale and bias per position in the group.
    case layerNorm(groupSize: Int, scale: [Float], bias: [Float], epsilon: Float)
    /// Matrix products of two runtime values: per image, `batches` products of an `m x k` block
    /// of input 0 and a `k x p` block of input 1.
    case product(batches: Int, m: Int, k: Int, p: Int)
    /// Resize of each of `planes` planes of `inPlane` values: output value `i` of a plane is
    /// the sum over `taps` of `weights[i taps + t]` times input value `sources[i taps + t]`.
    case resize(planes: Int, inPlane: Int, taps: Int, sources: [Int32], weights: [Float])
    /// Softmax (or its logarithm) over each group of `groupSize` consecutive values.
    case softmax(groupSize: Int, logarithm: Bool)
    /// Per-channel `x * scale + shift` (a batch norm that could not be folded).
    case affine(channels: Int, planeSize: Int, scale: [Float], shift: [Float])
  }

  var operation: Operation
  /// A convolution's (or transposed convolution's) weights packed for the GEMM, once they are
  /// final (batch norms folded in): set by ``ONNXPlan``; nil on CPUs without AVX2.
  var packedWeights: Convolution.PackedWeights?
  /// Slots of the runtime inputs, in operand order.
  var inputs: [Int]
  var output: Int
  /// Values per image of the output.
  var outputSize: Int
  /// Values per image of each input slot.
  var inputSizes: [Int]

  /// Scratch values the step needs per call (convolution's im2col matrix).
  var scratchSize: Int {
    switch operation {
    case .conv(let conv, _, _), .transposedConv(let conv, _, _): return conv.scratchCount
    default: return 0
    }
  }

  /// Computes the output of `count` images.
  func forward(
    count: Int, inputs values: [UnsafePointer<Float>], output: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    switch operation {
    case .conv(let conv, let weight, let bias):
      weight.withUnsafeBufferPointer { w in
        bias.withUnsafeBufferPointer { b in
          conv.forward(
            input: values[0], output: output, count: count,
            weight: w.baseAddress.unsafelyUnwrapped, bias: b.baseAddress.unsafelyUnwrapped,
            packed: packedWeights, scratch: scratch)
        }
      }
    case .transposedConv(let conv, let weight, let bias):
      weight.withUnsafeBufferPointer { w in
        conv.backward(
          input: values[0], outputGradient: values[0], count: count,
          weight: w.baseAddress.unsafelyUnwrapped, packed: packedWeights, inputGradient: output,
          weightGradient: nil, biasGradient: nil, scratch: scratch)
      }
      let plane = conv.inHeight &* conv.inWidth
      for image in 0..<count {
        for channel in 0..<conv.inChannels {
          let start = output + (image &* conv.inChannels &+ channel) &* plane
          for index in 0..<plane { start[index] += bias[channel] }
        }
      }
    case .relu:
      Network.relu(values[0], output, count: count &* outputSize)
    case .activation(let activation):
      let input = values[0]
      for index in 0..<(count &* outputSize) { output[index] = activation.value(input[index]) }
    case .reduceMean(let targets, let divisor):
      let input = values[0]
      let size = inputSizes[0]
      output.update(repeating: 0, count: count &* outputSize)
      for image in 0..<count {
        let (from, to) = (image &* size, image &* outputSize)
        for index in 0..<size {
          output[to &+ Int(targets[index])] += input[from &+ index]
        }
      }
      for index in 0..<(count &* outputSize) { output[index] /= divisor }
    case .product(let batches, let m, let k, let p):
      output.update(repeating: 0, count: count &* outputSize)
      for block in 0..<(count &* batches) {
        GEMM.multiplyAdd(
          m: m, n: p, k: k, a: values[0] + block &* m &* k, aRowStride: k, aColumnStride: 1,
          b: values[1] + block &* k &* p, bRowStride: p, c: output + block &* m &* p,
          cRowStride: p)
      }
    case .resize(let planes, let inPlane, let taps, let sources, let weights):
      let input = values[0]
      let outPlane = outputSize / planes
      for plane in 0..<(count &* planes) {
        let (from, to) = (input + plane &* inPlane, output + plane &* outPlane)
        for index in 0..<outPlane {
          var sum: Float = 0
          for tap in 0..<taps {
            let entry = index &* taps &+ tap
            sum += weights[entry] * from[Int(sources[entry])]
          }
          to[index] = sum
        }
      }
    case .softmax(let groupSize, let logarithm):
      let input = values[0]
      for group in 0..<(count &* outputSize / groupSize) {
        let base = group &* groupSize
        var largest = -Float.infinity
        for index in 0..<groupSize { largest = max(largest, input[base &+ index]) }
        var sum = 0.0
        for index in 0..<groupSize { sum += Foundation.exp(Double(input[base &+ index] - largest)) }
        let logSum = Float(Foundation.log(sum)) + largest
        for index in 0..<groupSize {
          let log = input[base &+ index] - logSum
          output[base &+ index] = logarithm ? log : Foundation.exp(log)
        }
      }
    case .layerNorm(let groupSize, let scale, let bias, let epsilon):
      let input = values[0]
      for group in 0..<(count &* outputSize / groupSize) {
        let base = group &* groupSize
        let (mean, deviation) = ONNXStep.statistics(input + base, groupSize, epsilon)
        for index in 0..<groupSize {
          output[base &+ index] =
            (input[base &+ index] - mean) / deviation * scale[index] + bias[index]
        }
      }
    case .gather(let sources, let indices, let fill):
      sources.withUnsafeBufferPointer { sources in
        indices.withUnsafeBufferPointer { indices in
          for image in 0..<count {
            let base = image &* outputSize
            for index in 0..<outputSize {
              let source = Int(sources[index])
              output[base &+ index] =
                source < 0
                ? fill : values[source][image &* inputSizes[source] &+ Int(indices[index])]
            }
          }
        }
      }
    case .maxPool(var pool):
      pool.planes = pool.planes &* count
      pool.maxForward(values[0], output)
    case .averagePool(var pool):
      pool.planes = pool.planes &* count
      pool.averageForward(values[0], output)
    case .dense(let rows, let inputs, let outputs, let weight, _, let bias):
      let total = count &* rows
      bias.withUnsafeBufferPointer { b in
        for row in 0..<total {
          (output + row &* outputs).update(from: b.baseAddress.unsafelyUnwrapped, count: outputs)
        }
      }
      weight.withUnsafeBufferPointer { w in
        GEMM.multiplyAdd(
          m: total, n: outputs, k: inputs, a: values[0], aRowStride: inputs, aColumnStride: 1,
          b: w.baseAddress.unsafelyUnwrapped, bRowStride: outputs, c: output, cRowStride: outputs)
      }
    case .binary(let binary):
      binaryForward(binary, count: count, values: values, output: output)
    case .affine(let channels, let planeSize, let scale, let shift):
      let input = values[0]
      for image in 0..<count {
        for channel in 0..<channels {
          let offset = (image &* channels &+ channel) &* planeSize
          let a = scale[channel]
          let b = shift[channel]
          for index in offset..<(offset &+ planeSize) { output[index] = input[index] * a + b }
        }
      }
    }
  }

  /// `target[i] += source[i]` for `count` values, eight at a time; with `positive`, only where
  /// `positive[i] > 0` (a relu's gradient). The other lanes add -0, which changes no value.
  static func add(
    _ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int,
    where positive: UnsafePointer<Float>?
  ) {
    typealias V = SIMD8<Float>
    let from = UnsafeRawPointer(source)
    let to = UnsafeMutableRawPointer(target)
    var index = 0
    while index &+ 8 <= count {
      let offset = index &* 4
      var addend = from.loadUnaligned(fromByteOffset: offset, as: V.self)
      if let positive {
        let mask = UnsafeRawPointer(positive).loadUnaligned(fromByteOffset: offset, as: V.self)
        addend.replace(with: -0.0, where: .!(mask .> 0))
      }
      to.storeBytes(
        of: to.loadUnaligned(fromByteOffset: offset, as: V.self) + addend, toByteOffset: offset,
        as: V.self)
      index &+= 8
    }
    while index < count {
      if positive.map({ $0[index] > 0 }) ?? true { target[index] += source[index] }
      index &+= 1
    }
  }

  /// The mean of `count` values and their standard deviation with `epsilon` added to the
  /// (biased) variance, summed in double precision.
  static func statistics(
    _ values: UnsafePointer<Float>, _ count: Int, _ epsilon: Float
  ) -> (mean: Float, deviation: Float) {
    var sum = 0.0
    for index in 0..<count { sum += Double(values[index]) }
    let mean = sum / Double(count)
    var squares = 0.0
    for index in 0..<count {
      let difference = Double(values[index]) - mean
      squares += difference * difference
    }
    return (Float(mean), Float((squares / Double(count) + Double(epsilon)).squareRoot()))
  }

  /// Operand `side` (0 left, 1 right) of image `image`, element `index` of the output.
  @inline(__always)
  static func operand(
    _ binary: Binary, side: Int, image: Int, index: Int, values: [UnsafePointer<Float>],
    constants: (UnsafePointer<Float>?, UnsafePointer<Float>?)
  ) -> Float {
    let map = side == 0 ? binary.broadcast.leftMap : binary.broadcast.rightMap
    let source = map.map { $0[index] } ?? index
    if let constant = side == 0 ? constants.0 : constants.1 { return constant[source] }
    let size = side == 0 ? binary.leftSize : binary.rightSize
    let position = side == 0 || binary.leftConstant != nil ? 0 : 1
    return values[position][image &* size &+ source]
  }

  /// `a op b` for one pair of values.
  @inline(__always)
  static func apply(_ op: BinaryOperator, _ a: Float, _ b: Float) -> Float {
    switch op {
    case .add: a + b
    case .subtract: a - b
    case .multiply: a * b
    case .divide: a / b
    }
  }

  func binaryForward(
    _ binary: Binary, count: Int, values: [UnsafePointer<Float>],
    output: UnsafeMutablePointer<Float>
  ) {
    // The common cases without index maps: a residual sum of two values of one shape, and a
    // value plus a constant (a bias) broadcast to it, expanded once per call.
    if binary.leftConstant == nil, binary.broadcast.leftMap == nil {
      let a = values[0]
      let size = outputSize
      if binary.rightConstant == nil, binary.broadcast.rightMap == nil {
        let b = values[1]
        for index in 0..<(count &* size) {
          output[index] = ONNXStep.apply(binary.op, a[index], b[index])
        }
        return
      }
      if let constant = binary.rightConstant {
        let expanded = binary.broadcast.rightMap.map { $0.map { constant[$0] } } ?? constant
        expanded.withUnsafeBufferPointer { b in
          for image in 0..<count {
            let base = image &* size
            for index in 0..<size {
              output[base &+ index] = ONNXStep.apply(binary.op, a[base &+ index], b[index])
            }
          }
        }
        return
      }
    }
    withConstants(binary) { constants in
      for image in 0..<count {
        for index in 0..<outputSize {
          let a = ONNXStep.operand(
            binary, side: 0, image: image, index: index, values: values, constants: constants)
          let b = ONNXStep.operand(
            binary, side: 1, image: image, index: index, values: values, constants: constants)
          output[image &* outputSize &+ index] = ONNXStep.apply(binary.op, a, b)
        }
      }
    }
  }

  func withConstants(
    _ binary: Binary, _ body: ((UnsafePointer<Float>?, UnsafePointer<Float>?)) -> Void
  ) {
    func with(_ values: [Float]?, _ body: (UnsafePointer<Float>?) -> Void) {
      guard let values else { return body(nil) }
      values.withUnsafeBufferPointer { body($0.baseAddress) }
    }
    with(binary.leftConstant) { left in
      with(binary.rightConstant) { right in body((left, right)) }
    }
  }

  /// Adds the gradients of the runtime inputs to `inputGradients` (nil for an input that needs
  /// none), given the output's gradient. `temporary` holds `count x` the largest input size.
  func backward(
    count: Int, inputs values: [UnsafePointer<Float>], output: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, inputGradients: [UnsafeMutablePointer<Float>?],
    temporary: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    func accumulate(_ target: UnsafeMutablePointer<Float>) {
      ONNXStep.add(temporary, into: target, count: count &* inputSizes[0], where: nil)
    }
    switch operation {
    case .conv(let conv, let weight, _):
      guard let target = inputGradients[0] else { return }
      if conv.rectifies {
        // Through the folded ReLU, in place: this step alone reads its output's gradient.
        Network.reluBackward(
          output, outputGradient, UnsafeMutablePointer(mutating: outputGradient),
          count: count &* outputSize)
      }
      weight.withUnsafeBufferPointer { w in
        conv.backward(
          input: values[0], outputGradient: outputGradient, count: count,
          weight: w.baseAddress.unsafelyUnwrapped, packed: packedWeights,
          inputGradient: temporary, weightGradient: nil, biasGradient: nil, scratch: scratch)
      }
      accumulate(target)
    case .transposedConv(let conv, let weight, _):
      guard let target = inputGradients[0] else { return }
      let zeros = [Float](repeating: 0, count: conv.outChannels)
      weight.withUnsafeBufferPointer { w in
        zeros.withUnsafeBufferPointer { b in
          conv.forward(
            input: outputGradient, output: temporary, count: count,
            weight: w.baseAddress.unsafelyUnwrapped, bias: b.baseAddress.unsafelyUnwrapped,
            packed: packedWeights, scratch: scratch)
        }
      }
      accumulate(target)
    case .relu:
      guard let target = inputGradients[0] else { return }
      ONNXStep.add(outputGradient, into: target, count: count &* outputSize, where: values[0])
    case .reduceMean(let targets, let divisor):
      guard let target = inputGradients[0] else { return }
      let size = inputSizes[0]
      for image in 0..<count {
        let (to, from) = (image &* size, image &* outputSize)
        for index in 0..<size {
          target[to &+ index] += outputGradient[from &+ Int(targets[index])] / divisor
        }
      }
    case .product(let batches, let m, let k, let p):
      // dA = dC Bᵀ (Bᵀ copied out), dB = Aᵀ dC (Aᵀ read with strides).
      let transposed = UnsafeMutablePointer<Float>.allocate(capacity: max(k &* p, 1))
      defer { transposed.deallocate() }
      for block in 0..<(count &* batches) {
        let gradient = outputGradient + block &* m &* p
        if let target = inputGradients[0] {
          let b = values[1] + block &* k &* p
          for row in 0..<k {
            for column in 0..<p { transposed[column &* k &+ row] = b[row &* p &+ column] }
          }
          GEMM.multiplyAdd(
            m: m, n: k, k: p, a: gradient, aRowStride: p, aColumnStride: 1, b: transposed,
            bRowStride: k, c: target + block &* m &* k, cRowStride: k)
        }
        if let target = inputGradients[1] {
          GEMM.multiplyAdd(
            m: k, n: p, k: m, a: values[0] + block &* m &* k, aRowStride: 1, aColumnStride: k,
            b: gradient, bRowStride: p, c: target + block &* k &* p, cRowStride: p)
        }
      }
    case .resize(let planes, let inPlane, let taps, let sources, let weights):
      guard let target = inputGradients[0] else { return }
      let outPlane = outputSize / planes
      for plane in 0..<(count &* planes) {
        let (to, from) = (target + plane &* inPlane, outputGradient + plane &* outPlane)
        for index in 0..<outPlane {
          for tap in 0..<taps {
            let entry = index &* taps &+ tap
            to[Int(sources[entry])] += weights[entry] * from[index]
          }
        }
      }
    case .softmax(let groupSize, let logarithm):
      // Softmax: dx = y (g - Σ g y). Its logarithm: dx = g - softmax(x) Σ g.
      guard let target = inputGradients[0] else { return }
      for group in 0..<(count &* outputSize / groupSize) {
        let base = group &* groupSize
        var sum: Float = 0
        for index in 0..<groupSize {
          sum +=
            logarithm
            ? outputGradient[base &+ index]
            : outputGradient[base &+ index] * output[base &+ index]
        }
        for index in 0..<groupSize {
          let y = output[base &+ index]
          target[base &+ index] +=
            logarithm
            ? outputGradient[base &+ index] - Foundation.exp(y) * sum
            : y * (outputGradient[base &+ index] - sum)
        }
      }
    case .layerNorm(let groupSize, let scale, _, let epsilon):
      // dx = (g - mean(g) - x̂ mean(g x̂)) / σ, with g the output gradient times the scale.
      guard let target = inputGradients[0] else { return }
      let input = values[0]
      for group in 0..<(count &* outputSize / groupSize) {
        let base = group &* groupSize
        let (mean, deviation) = ONNXStep.statistics(input + base, groupSize, epsilon)
        var (sum, weighted) = (0.0, 0.0)
        for index in 0..<groupSize {
          let g = Double(outputGradient[base &+ index] * scale[index])
          let normalized = Double((input[base &+ index] - mean) / deviation)
          sum += g
          weighted += g * normalized
        }
        let n = Double(groupSize)
        for index in 0..<groupSize {
          let g = Double(outputGradient[base &+ index] * scale[index])
          let normalized = Double((input[base &+ index] - mean) / deviation)
          target[base &+ index] += Float(
            (g - sum / n - normalized * weighted / n) / Double(deviation))
        }
      }
    case .gather(let sources, let indices, _):
      for image in 0..<count {
        let base = image &* outputSize
        for index in 0..<outputSize {
          let source = Int(sources[index])
          guard source >= 0, let target = inputGradients[source] else { continue }
          target[image &* inputSizes[source] &+ Int(indices[index])] +=
            outputGradient[base &+ index]
        }
      }
    case .activation(let activation):
      guard let target = inputGradients[0] else { return }
      let input = values[0]
      for index in 0..<(count &* outputSize) {
        target[index] += outputGradient[index] * activation.derivative(input[index])
      }
    case .maxPool(var pool):
      guard let target = inputGradients[0] else { return }
      pool.planes = pool.planes &* count
      pool.maxBackward(values[0], outputGradient, temporary)
      accumulate(target)
    case .averagePool(var pool):
      guard let target = inputGradients[0] else { return }
      pool.planes = pool.planes &* count
      pool.averageBackward(outputGradient, temporary)
      accumulate(target)
    case .dense(let rows, let inputs, let outputs, _, let transposed, _):
      guard let target = inputGradients[0] else { return }
      transposed.withUnsafeBufferPointer { t in
        GEMM.multiplyAdd(
          m: count &* rows, n: inputs, k: outputs, a: outputGradient, aRowStride: outputs,
          aColumnStride: 1, b: t.baseAddress.unsafelyUnwrapped, bRowStride: inputs, c: target,
          cRowStride: inputs)
      }
    case .binary(let binary):
      binaryBackward(
        binary, count: count, values: values, outputGradient: outputGradient,
        inputGradients: inputGradients)
    case .affine(let channels, let planeSize, let scale, _):
      guard let target = inputGradients[0] else { return }
      for image in 0..<count {
        for channel in 0..<channels {
          let offset = (image &* channels &+ channel) &* planeSize
          let a = scale[channel]
          for index in offset..<(offset &+ planeSize) {
            target[index] += outputGradient[index] * a
          }
        }
      }
    }
  }

  func binaryBackward(
    _ binary: Binary, count: Int, values: [UnsafePointer<Float>],
    outputGradient: UnsafePointer<Float>, inputGradients: [UnsafeMutablePointer<Float>?]
  ) {
    let leftTarget: UnsafeMutablePointer<Float>? =
      binary.leftConstant == nil ? inputGradients[0] : nil
    let rightTarget: UnsafeMutablePointer<Float>? =
      binary.rightConstant == nil ? inputGradients[inputGradients.count - 1] : nil
    withConstants(binary) { constants in
      for image in 0..<count {
        for index in 0..<outputSize {
          let g = outputGradient[image &* outputSize &+ index]
          let a = ONNXStep.operand(
            binary, side: 0, image: image, index: index, values: values, constants: constants)
          let b = ONNXStep.operand(
            binary, side: 1, image: image, index: index, values: values, constants: constants)
          let (da, db): (Float, Float)
          switch binary.op {
          case .add: (da, db) = (g, g)
          case .subtract: (da, db) = (g, -g)
          case .multiply: (da, db) = (g * b, g * a)
          case .divide: (da, db) = (g / b, -g * a / (b * b))
          }
          if let leftTarget {
            let source = binary.broadcast.leftMap.map { $0[index] } ?? index
            leftTarget[image &* binary.leftSize &+ source] += da
          }
          if let rightTarget {
            let source = binary.broadcast.rightMap.map { $0[index] } ?? index
            rightTarget[image &* binary.rightSize &+ source] += db
          }
        }
      }
    }
  }
}
