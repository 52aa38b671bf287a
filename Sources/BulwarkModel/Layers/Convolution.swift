internal import CBulwarkKernels

/// 2-D convolution over a chunk of CHW images: im2col, then ``GEMM`` per group.
///
/// Where an image has few output positions (the small feature maps deep in a network), several
/// images share one im2col matrix, so that one product spans at least
/// ``productColumns`` positions: the GEMM's tiles are filled and its packed weights serve all of
/// them. Their outputs (or output gradients) then pass through a buffer in product order,
/// `[channel][image][position]`. Each output still sums its products in the same order, so how
/// many images share a product never changes a result.
///
/// Kernels, strides, dilations and the leading (top, left) padding may differ per axis, as
/// ONNX allows; the trailing padding is implied by the output size.
struct Convolution {
  var inChannels: Int
  var inHeight: Int
  var inWidth: Int
  var outChannels: Int
  var outHeight: Int
  var outWidth: Int
  var kernelHeight: Int
  var kernelWidth: Int
  var strideY: Int
  var strideX: Int
  var padTop: Int
  var padLeft: Int
  var dilationY = 1
  var dilationX = 1
  var groups: Int
  /// Whether the forward pass ends in a ReLU (`max(x, 0)`, folded in from the graph): the same
  /// bits as a separate ReLU, without a pass over the outputs.
  var rectifies = false
  /// A max pooling folded in after the convolution (and its ReLU), for passes that keep no
  /// gradient: the forward pass then stores the pooled outputs alone, the bits of a separate
  /// pooling without a pass over the outputs. Set only where ``folds(_:)`` allows it.
  var pooling: Pooling?

  init(_ stage: Stage, kernel: Int, stride: Int, padding: Int, groups: Int) {
    inChannels = stage.input.channels
    inHeight = stage.input.height
    inWidth = stage.input.width
    outChannels = stage.output.channels
    outHeight = stage.output.height
    outWidth = stage.output.width
    kernelHeight = kernel
    kernelWidth = kernel
    strideY = stride
    strideX = stride
    padTop = padding
    padLeft = padding
    self.groups = groups
  }

  /// A convolution with every size given per axis.
  init(
    inChannels: Int, inHeight: Int, inWidth: Int, outChannels: Int, outHeight: Int,
    outWidth: Int, kernelHeight: Int, kernelWidth: Int, strideY: Int, strideX: Int,
    padTop: Int, padLeft: Int, dilationY: Int, dilationX: Int, groups: Int
  ) {
    self.inChannels = inChannels
    self.inHeight = inHeight
    self.inWidth = inWidth
    self.outChannels = outChannels
    self.outHeight = outHeight
    self.outWidth = outWidth
    self.kernelHeight = kernelHeight
    self.kernelWidth = kernelWidth
    self.strideY = strideY
    self.strideX = strideX
    self.padTop = padTop
    self.padLeft = padLeft
    self.dilationY = dilationY
    self.dilationX = dilationX
    self.groups = groups
  }

  /// The output positions one product should span at least.
  static let productColumns = 256

  /// Rows of the im2col matrix: input channels x kernel height x kernel width.
  var rows: Int { inChannels &* kernelHeight &* kernelWidth }
  /// Columns of the im2col matrix: output positions.
  var positions: Int { outHeight &* outWidth }
  var inputCount: Int { inChannels &* inHeight &* inWidth }
  var outputCount: Int { outChannels &* positions }
  /// Rows of the im2col matrix per group, and the weights' second dimension times kernel².
  var groupRows: Int { rows / groups }
  var groupOutputs: Int { outChannels / groups }

  /// Images that share one product in a chunk of `count`.
  func imagesPerProduct(count: Int) -> Int {
    positions >= Convolution.productColumns
      ? 1 : max(1, min(count, Convolution.productColumns / max(positions, 1)))
  }

  /// Scratch values a pass needs whatever its chunk: a product's im2col matrix, then its
  /// outputs or output gradients in product order.
  var scratchCount: Int { (rows &+ outChannels) &* max(positions, Convolution.productColumns) }

  /// Whether `pool`, run on this convolution's outputs, can be folded into it (see ``pooling``):
  /// a 2x2, stride 2 max pooling of whole windows, which the direct kernel computes as
  /// ``Pooling/maxForward(_:_:portable:)`` does, after a layer that ``runsDirectly``.
  func folds(_ pool: Pooling) -> Bool {
    runsDirectly && pool.isPlain && pool.kernelHeight == 2 && pool.kernelWidth == 2
      && pool.stride == 2 && pool.planes == outChannels && pool.inHeight == outHeight
      && pool.inWidth == outWidth && pool.outHeight == outHeight / 2
      && pool.outWidth == outWidth / 2
  }

  /// The geometry the C kernels read.
  var geometry: bulwark_convolution {
    bulwark_convolution(
      in_channels: inChannels, in_height: inHeight, in_width: inWidth, out_height: outHeight,
      out_width: outWidth, kernel_height: kernelHeight, kernel_width: kernelWidth,
      stride_y: strideY, stride_x: strideX, pad_top: padTop, pad_left: padLeft,
      dilation_y: dilationY, dilation_x: dilationX)
  }

  /// `col[position * rows + row]`: position by position, so that the writes run in order (the
  /// reads stay within one image, in cache). Positions whose window lies across the image's
  /// columns copy each kernel row without a test per value.
  func transposedIm2col(_ image: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>) {
    let planeSize = inHeight &* inWidth
    let reach = (kernelWidth &- 1) &* dilationX
    var target = col
    for oy in 0..<outHeight {
      for ox in 0..<outWidth {
        let firstX = ox &* strideX &- padLeft
        let columnsInside = firstX >= 0 && firstX &+ reach < inWidth
        for channel in 0..<inChannels {
          let plane = image + channel &* planeSize
          for ky in 0..<kernelHeight {
            let iy = oy &* strideY &- padTop &+ ky &* dilationY
            let rowInside = iy >= 0 && iy < inHeight
            let line = plane + (rowInside ? iy &* inWidth : 0)
            if rowInside && columnsInside {
              for kx in 0..<kernelWidth { target[kx] = line[firstX &+ kx &* dilationX] }
            } else {
              for kx in 0..<kernelWidth {
                let ix = firstX &+ kx &* dilationX
                target[kx] = rowInside && ix >= 0 && ix < inWidth ? line[ix] : 0
              }
            }
            target += kernelWidth
          }
        }
      }
    }
  }

  /// Copies a short run eight values at a time (runs are a row of the image, too short for a
  /// `memcpy` call to pay off).
  @inline(__always)
  static func copy(
    _ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<Float>, count: Int
  ) {
    let from = UnsafeRawPointer(source)
    let to = UnsafeMutableRawPointer(target)
    var index = 0
    while index &+ 8 <= count {
      to.storeBytes(
        of: from.loadUnaligned(fromByteOffset: index &* 4, as: SIMD8<Float>.self),
        toByteOffset: index &* 4, as: SIMD8<Float>.self)
      index &+= 8
    }
    while index < count {
      target[index] = source[index]
      index &+= 1
    }
  }

  /// Copies the `outChannels x positions` planes of `images` consecutive images from image
  /// order to product order (`[channel][image][position]`), or back when `toProduct` is false.
  func reorder(
    _ source: UnsafePointer<Float>, _ target: UnsafeMutablePointer<Float>, images: Int,
    toProduct: Bool
  ) {
    let columns = images &* positions
    for image in 0..<images {
      for channel in 0..<outChannels {
        let inImage = image &* outputCount &+ channel &* positions
        let inProduct = channel &* columns &+ image &* positions
        Convolution.copy(
          source + (toProduct ? inImage : inProduct),
          to: target + (toProduct ? inProduct : inImage),
          count: positions)
      }
    }
  }

  /// Output channels up to which a layer's forward pass is direct whatever its width (see
  /// ``runsDirectly``), and its input gradient too (with more, the weight-transpose product
  /// and col2im measured faster for the input gradient).
  static let directOutputChannels = 16

  /// Output columns from which a forward pass is direct, whatever its channels: the direct
  /// kernel then fills its 16-column register blocks.
  static let directOutputWidth = 16

  /// Output columns of the rows a forward pass also takes direct, whatever its channels: the
  /// direct kernel fills its register blocks with two such rows at a time (on narrower rows the
  /// product measured faster).
  static let stackedOutputWidth = 8

  /// Output columns below which a forward product packs its im2col blocks straight from the
  /// images (``multiplyAddStraight(images:from:packed:into:)``), one gather per lane: with rows
  /// narrower than a vector, C harness, 16 images, ResNet-18's 4x4 and 2x2 layers ran at 87-93
  /// GFLOP/s against 75-80 through im2col; on wider rows im2col's vector loads measured faster.
  static let straightOutputWidth = 8

  /// Whether the forward pass skips im2col: one channel group, a CPU with AVX2 and FMA, and
  /// either a horizontal stride of 1 with at most ``directOutputChannels`` outputs, at least
  /// ``directOutputWidth`` or exactly ``stackedOutputWidth`` output columns, or a larger stride
  /// (whose columns the kernel deals into phases) with at least ``directOutputWidth`` output
  /// columns. Both paths give the same bits.
  var runsDirectly: Bool {
    guard GEMM.usesAVX2 && groups == 1 else { return false }
    guard strideX == 1 else { return outWidth >= Convolution.directOutputWidth }
    return outChannels <= Convolution.directOutputChannels
      || outWidth >= Convolution.directOutputWidth
      || outWidth == Convolution.stackedOutputWidth
  }

  /// Whether the input gradient skips col2im: strides of 1, one channel group, at most
  /// ``directOutputChannels`` outputs, and a CPU with AVX2 and FMA. Both paths give the same
  /// bits for finite weights, which the backward pass checks: the direct path multiplies the
  /// padding's zeros by every weight, products that col2im never adds.
  var backpropagatesDirectly: Bool {
    GEMM.usesAVX2 && strideX == 1 && strideY == 1 && groups == 1
      && outChannels <= Convolution.directOutputChannels
  }

  /// Forward pass of `count` images (pooled, with a ``pooling``); `scratch` holds
  /// ``scratchCount`` values; `packed` is `weight` packed, when the caller has it.
  func forward(
    input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, packed: PackedWeights? = nil,
    scratch: UnsafeMutablePointer<Float>
  ) {
    if runsDirectly,
      forwardDirectly(
        input: input, output: output, count: count, weight: weight, bias: bias, packed: packed)
    {
      return
    }
    guard var pooling else {
      productForward(
        input: input, output: output, count: count, weight: weight, bias: bias, packed: packed,
        scratch: scratch)
      return
    }
    // The direct kernel could not allocate its buffers: the outputs, then their pooling.
    let outputs = UnsafeMutablePointer<Float>.allocate(capacity: count &* outputCount)
    defer { outputs.deallocate() }
    productForward(
      input: input, output: outputs, count: count, weight: weight, bias: bias, packed: packed,
      scratch: scratch)
    pooling.planes = outChannels &* count
    pooling.maxForward(outputs, output)
  }

  /// The forward pass through the direct kernel (see ``runsDirectly``), with the weights it packed
  /// once when the caller has them. False, with nothing written, where it could not allocate its
  /// buffers.
  func forwardDirectly(
    input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, packed: PackedWeights?
  ) -> Bool {
    withUnsafePointer(to: geometry) { conv in
      func run(_ packedWeight: UnsafePointer<Float>?) -> Int32 {
        bulwark_conv_direct_avx2(
          conv, count, input, weight, packedWeight, bias, outChannels, rectifies ? 1 : 0,
          pooling == nil ? 0 : 1, output)
      }
      guard let direct = packed?.direct else { return run(nil) != 0 }
      return direct.withUnsafeBufferPointer { run($0.baseAddress) } != 0
    }
  }

  /// The forward pass through im2col and ``GEMM``, whatever the layer.
  func productForward(
    input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int,
    weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, packed: PackedWeights?,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let perProduct = imagesPerProduct(count: count)
    var first = 0
    while first < count {
      let images = min(perProduct, count &- first)
      let columns = images &* positions
      let out = output + first &* outputCount
      let product = images == 1 ? out : scratch + rows &* columns
      for channel in 0..<outChannels {
        (product + channel &* columns).update(repeating: bias[channel], count: columns)
      }
      if !multiplyAddStraight(
        images: images, from: input + first &* inputCount, packed: packed, into: product)
      {
        withUnsafePointer(to: geometry) {
          bulwark_im2col($0, images, input + first &* inputCount, scratch, columns, 0)
        }
        for group in 0..<groups {
          GEMM.multiplyAdd(
            m: groupOutputs, n: columns, k: groupRows,
            a: weight + group &* groupOutputs &* groupRows, aRowStride: groupRows,
            aColumnStride: 1, packed: packed?.forward?[group],
            b: scratch + group &* groupRows &* columns, bRowStride: columns,
            c: product + group &* groupOutputs &* columns, cRowStride: columns)
        }
      }
      if images > 1 { reorder(product, out, images: images, toProduct: false) }
      if rectifies { Network.relu(out, out, count: images &* outputCount) }
      first &+= images
    }
  }

  /// `product += weight · im2col(images)` (`images x positions` columns) with the packed weights,
  /// each block of the im2col matrix packed straight from the images: ``GEMM``'s arithmetic, so
  /// the bits of im2col then ``GEMM``, without the matrix. False, with nothing written, where it
  /// does not run: rows of ``straightOutputWidth`` or more, channel groups, no packed weights
  /// (the portable kernel), offsets past 32 bits, or no room for its buffers.
  func multiplyAddStraight(
    images: Int, from input: UnsafePointer<Float>, packed: PackedWeights?,
    into product: UnsafeMutablePointer<Float>
  ) -> Bool {
    guard outWidth < Convolution.straightOutputWidth, groups == 1,
      let operand = packed?.forward?.first
    else { return false }
    return operand.values.withUnsafeBufferPointer { weights in
      withUnsafePointer(to: geometry) {
        bulwark_conv_gemm_avx2(
          $0, images, input, outChannels, weights.baseAddress.unsafelyUnwrapped, product,
          images &* positions)
      }
    } != 0
  }

  /// Backward pass of `count` images: adds weight and bias gradients when given, and writes
  /// (overwrites) the input gradient when given. `scratch` holds ``scratchCount`` values;
  /// `packed` is `weight` packed (with its transposes), when the caller has it.
  func backward(
    input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, count: Int,
    weight: UnsafePointer<Float>, packed: PackedWeights? = nil,
    inputGradient: UnsafeMutablePointer<Float>?,
    weightGradient: UnsafeMutablePointer<Float>?, biasGradient: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
  ) {
    if let biasGradient {
      for image in 0..<count {
        let gradient = outputGradient + image &* outputCount
        for channel in 0..<outChannels {
          let row = gradient + channel &* positions
          var sum: Float = 0
          for position in 0..<positions { sum += row[position] }
          biasGradient[channel] += sum
        }
      }
    }
    var inputGradient = inputGradient
    if let target = inputGradient, backpropagatesDirectly,
      UnsafeBufferPointer(start: weight, count: outChannels &* rows).allSatisfy(\.isFinite),
      bulwark_conv_input_gradient_direct_avx2(
        count, outputGradient, outChannels, outHeight, outWidth, weight, inChannels, inHeight,
        inWidth, kernelHeight, kernelWidth, padTop, padLeft, dilationY, dilationX, target) != 0
    {
      inputGradient = nil
    }
    productBackward(
      input: input, outputGradient: outputGradient, count: count, weight: weight, packed: packed,
      inputGradient: inputGradient, weightGradient: weightGradient, scratch: scratch)
  }

  /// The weight and input gradients through im2col, ``GEMM`` and col2im, whatever the layer
  /// (the backward pass's arguments, but the bias gradient).
  func productBackward(
    input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>, count: Int,
    weight: UnsafePointer<Float>, packed: PackedWeights?,
    inputGradient: UnsafeMutablePointer<Float>?, weightGradient: UnsafeMutablePointer<Float>?,
    scratch: UnsafeMutablePointer<Float>
  ) {
    guard weightGradient != nil || inputGradient != nil else { return }
    let perProduct = imagesPerProduct(count: count)
    var first = 0
    while first < count {
      let images = min(perProduct, count &- first)
      let columns = images &* positions
      // The product's output gradient, `[channel][image][position]`.
      var gradient = outputGradient + first &* outputCount
      if images > 1 {
        let gathered = scratch + rows &* columns
        reorder(gradient, gathered, images: images, toProduct: true)
        gradient = UnsafePointer(gathered)
      }
      if let weightGradient {
        for image in 0..<images {
          transposedIm2col(
            input + (first &+ image) &* inputCount, scratch + image &* positions &* rows)
        }
        for group in 0..<groups {
          GEMM.multiplyAdd(
            m: groupOutputs, n: groupRows, k: columns,
            a: gradient + group &* groupOutputs &* columns, aRowStride: columns,
            aColumnStride: 1,
            b: scratch + group &* groupRows, bRowStride: rows,
            c: weightGradient + group &* groupOutputs &* groupRows, cRowStride: groupRows)
        }
      }
      if let inputGradient {
        scratch.update(repeating: 0, count: rows &* columns)
        for group in 0..<groups {
          GEMM.multiplyAdd(
            m: groupRows, n: columns, k: groupOutputs,
            a: weight + group &* groupOutputs &* groupRows, aRowStride: 1,
            aColumnStride: groupRows, packed: packed?.backward?[group],
            b: gradient + group &* groupOutputs &* columns, bRowStride: columns,
            c: scratch + group &* groupRows &* columns, cRowStride: columns)
        }
        withUnsafePointer(to: geometry) {
          bulwark_col2im($0, images, scratch, columns, inputGradient + first &* inputCount)
        }
      }
      first &+= images
    }
  }
}
