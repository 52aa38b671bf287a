/// Resize (opset 10 on) and Upsample (opsets 7 to 9) of image values over height and width,
/// nearest and linear, with ONNX's coordinate transformations and nearest modes. Each output
/// value is a fixed weighted sum of at most four input values of its plane, worked out once at
/// load time.
extension ONNXCompiler {
  /// The most taps a Resize's load-time map may hold (8 bytes each): a file of a few bytes must
  /// not spend seconds and hundreds of megabytes building a map of millions of positions.
  static let maximumResizeTaps = 1 << 22

  mutating func compileResize(_ node: ONNXNode, label: String, name: String) throws {
    let x = try runtimeInput(node, 0, label: label)
    guard x.shape.count == 3 else {
      throw error(label, "a [N, C, H, W] input", "rank \(x.shape.count + 1)")
    }
    let mode = try string(node, "mode", default: "nearest", label: label)
    let upsample = node.opType == "Upsample"
    // Where the scales or sizes are: Upsample's attribute (7-8) or input 1 (9); Resize's input
    // 1 (10), or inputs 2 and 3 after the region of interest (11 on).
    var scales: [Float]?
    var sizes: [Int]?
    if upsample {
      scales =
        opset >= 9
        ? try requiredConstant(node, 1, label: label).floats
        : try floats(node, "scales", label: label)
    } else if opset < 11 {
      scales = try requiredConstant(node, 1, label: label).floats
    } else {
      scales = try constantInput(node, 2, label: label)?.floats
      sizes = try constantInput(node, 3, label: label)?.ints.map { Int($0) }
      if scales?.isEmpty == true { scales = nil }
    }
    let inputDims = [1] + x.shape
    var outputDims: [Int]
    var factors: [Double]
    if let sizes, !sizes.isEmpty {
      guard sizes.count == 4, sizes.allSatisfy({ $0 > 0 }) else {
        throw error(label, "4 positive sizes", "\(sizes)")
      }
      outputDims = sizes
      factors = zip(sizes, inputDims).map { Double($0) / Double($1) }
    } else if let scales, scales.count == 4 {
      factors = scales.map(Double.init)
      let dims = zip(inputDims, factors).map { (Double($0) * $1).rounded(.down) }
      guard factors.allSatisfy({ $0.isFinite && $0 > 0 }),
        dims.allSatisfy({ $0 >= 1 && $0 <= Double(ONNXCompiler.maximumMappedValues) })
      else {
        throw error(label, "4 positive scales giving a size of at least 1", "\(scales)")
      }
      outputDims = dims.map { Int($0) }
    } else {
      throw error(label, "4 scales or 4 sizes", "none")
    }
    guard outputDims[0] == 1, outputDims[1] == x.shape[0], outputDims[2] > 0, outputDims[3] > 0
    else {
      throw error(
        label, "a resize of height and width only (batch and channels kept)",
        "output \(outputDims) from input \(inputDims)")
    }
    try requireMappable(try size(of: Array(outputDims.dropFirst()), label: label), label: label)
    // The plane's map holds a source and a weight per tap: one tap per output position for
    // nearest, four for linear.
    let taps = outputDims[2] * outputDims[3] * (mode == "linear" ? 4 : 1)
    guard taps <= ONNXCompiler.maximumResizeTaps else {
      throw error(
        label,
        "at most \(ONNXCompiler.maximumResizeTaps) taps in the output plane's map "
          + "(an output plane of at most 1024 x 1024 values for linear, 2048 x 2048 for nearest)",
        "\(outputDims[2]) x \(outputDims[3]) (\(mode)): \(taps)")
    }
    let transform =
      upsample || opset < 11
      ? "asymmetric"
      : try string(node, "coordinate_transformation_mode", default: "half_pixel", label: label)
    let nearestMode =
      upsample || opset < 11
      ? "round_prefer_floor"
      : try string(node, "nearest_mode", default: "round_prefer_floor", label: label)
    // Per axis (height, width): each output position's input positions and weights, one for
    // nearest and two for linear everywhere.
    var axisTaps: [[[(index: Int, weight: Float)]]] = []
    for axis in [2, 3] {
      let (inSize, outSize, scale) = (inputDims[axis], outputDims[axis], factors[axis])
      var positions: [[(index: Int, weight: Float)]] = []
      for out in 0..<outSize {
        let o = Double(out)
        let original: Double
        switch transform {
        case "half_pixel": original = (o + 0.5) / scale - 0.5
        case "pytorch_half_pixel": original = outSize > 1 ? (o + 0.5) / scale - 0.5 : 0
        case "align_corners":
          original = outSize > 1 ? o * Double(inSize - 1) / Double(outSize - 1) : 0
        case "asymmetric": original = o / scale
        case "tf_half_pixel_for_nn": original = (o + 0.5) / scale
        default:
          throw error(
            label,
            "coordinate_transformation_mode half_pixel, pytorch_half_pixel, align_corners, "
              + "asymmetric or tf_half_pixel_for_nn", "'\(transform)'")
        }
        switch mode {
        case "nearest":
          let rounded: Double
          switch nearestMode {
          case "round_prefer_floor":
            rounded =
              original - original.rounded(.down) == 0.5
              ? original.rounded(.down) : original.rounded()
          case "round_prefer_ceil": rounded = original.rounded(.toNearestOrAwayFromZero)
          case "floor": rounded = original.rounded(.down)
          case "ceil": rounded = original.rounded(.up)
          default:
            throw error(
              label, "nearest_mode round_prefer_floor, round_prefer_ceil, floor or ceil",
              "'\(nearestMode)'")
          }
          positions.append([(min(max(Int(rounded), 0), inSize - 1), 1)])
        case "linear":
          let clamped = min(max(original, 0), Double(inSize - 1))
          let low = Int(clamped.rounded(.down))
          let high = min(low + 1, inSize - 1)
          let fraction = Float(clamped - Double(low))
          positions.append([(low, 1 - fraction), (high, fraction)])
        default:
          throw error(label, "mode nearest or linear", "'\(mode)'")
        }
      }
      axisTaps.append(positions)
    }
    // The plane's taps: the product of the two axes'.
    let (outHeight, outWidth) = (outputDims[2], outputDims[3])
    var sources: [Int32] = []
    var weights: [Float] = []
    for row in 0..<outHeight {
      for column in 0..<outWidth {
        for vertical in axisTaps[0][row] {
          for horizontal in axisTaps[1][column] {
            sources.append(Int32(vertical.index * x.shape[2] + horizontal.index))
            weights.append(vertical.weight * horizontal.weight)
          }
        }
      }
    }
    let width = axisTaps[0][0].count * axisTaps[1][0].count
    try emit(
      .resize(
        planes: x.shape[0], inPlane: x.shape[1] * x.shape[2], taps: width, sources: sources,
        weights: weights),
      inputs: [(x.slot, x.shape.reduce(1, *))], shape: [x.shape[0], outHeight, outWidth],
      name: name)
  }
}
