/// Reductions over float buffers with sixteen independent accumulators, so the loop is not
/// bound by the latency of one running sum (the compiler may not reorder floating-point sums
/// itself). The summation order is fixed, so results do not depend on threads.
enum VectorKernels {
  @inline(__always)
  static func load(_ pointer: UnsafePointer<Float>, _ index: Int) -> SIMD16<Float> {
    UnsafeRawPointer(pointer + index).loadUnaligned(as: SIMD16<Float>.self)
  }

  @inline(__always)
  static func load4(_ pointer: UnsafePointer<Float>, _ index: Int) -> SIMD4<Float> {
    UnsafeRawPointer(pointer + index).loadUnaligned(as: SIMD4<Float>.self)
  }

  /// Σ a[i] b[i].
  @inline(__always)
  static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
    var accumulator = SIMD16<Float>()
    var index = 0
    while index &+ 16 <= count {
      accumulator += load(a, index) * load(b, index)
      index &+= 16
    }
    var sum = accumulator.sum()
    while index < count {
      sum += a[index] * b[index]
      index &+= 1
    }
    return sum
  }

  /// Σ (a[i] - b[i])².
  @inline(__always)
  static func squaredDistance(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int
  ) -> Float {
    var accumulator = SIMD16<Float>()
    var index = 0
    while index &+ 16 <= count {
      let difference = load(a, index) - load(b, index)
      accumulator += difference * difference
      index &+= 16
    }
    // Short rows (28 pixels) end with a four-lane stage rather than twelve scalar steps.
    var quarter = SIMD4<Float>()
    while index &+ 4 <= count {
      let difference = load4(a, index) - load4(b, index)
      quarter += difference * difference
      index &+= 4
    }
    var sum = accumulator.sum() + quarter.sum()
    while index < count {
      let difference = a[index] - b[index]
      sum += difference * difference
      index &+= 1
    }
    return sum
  }
}

extension VectorKernels {
  @inline(__always)
  static func store(_ value: SIMD16<Float>, _ pointer: UnsafeMutablePointer<Float>, _ index: Int) {
    UnsafeMutableRawPointer(pointer + index).storeBytes(of: value, as: SIMD16<Float>.self)
  }

  /// target = scale * target + coefficient * vector, returning Σ other · target (new values),
  /// in one pass.
  @inline(__always)
  static func update(
    _ target: UnsafeMutablePointer<Float>, scale: Float, adding coefficient: Float,
    times vector: UnsafePointer<Float>, thenDotWith other: UnsafePointer<Float>, count: Int
  ) -> Float {
    var accumulator = SIMD16<Float>()
    var index = 0
    while index &+ 16 <= count {
      let value = scale * load(target, index) + coefficient * load(vector, index)
      store(value, target, index)
      accumulator += value * load(other, index)
      index &+= 16
    }
    var sum = accumulator.sum()
    while index < count {
      let value = scale * target[index] + coefficient * vector[index]
      target[index] = value
      sum += value * other[index]
      index &+= 1
    }
    return sum
  }

  /// target = (scale * target + coefficient * vector) * mask, returning Σ other · target.
  @inline(__always)
  static func finish(
    _ target: UnsafeMutablePointer<Float>, scale: Float, adding coefficient: Float,
    times vector: UnsafePointer<Float>, mask: UnsafePointer<Float>,
    slopeWith other: UnsafePointer<Float>, count: Int
  ) -> Float {
    var accumulator = SIMD16<Float>()
    var index = 0
    while index &+ 16 <= count {
      let value =
        (scale * load(target, index) + coefficient * load(vector, index)) * load(mask, index)
      store(value, target, index)
      accumulator += value * load(other, index)
      index &+= 16
    }
    var sum = accumulator.sum()
    while index < count {
      let value = (scale * target[index] + coefficient * vector[index]) * mask[index]
      target[index] = value
      sum += value * other[index]
      index &+= 1
    }
    return sum
  }
}
