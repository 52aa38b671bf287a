/// A function to minimise that also gives its gradient, evaluated on caller-owned buffers.
protocol DifferentiableObjective {
  /// The number of variables.
  var variableCount: Int { get }
  /// Returns f(point) and writes ∇f(point) into `gradient`.
  mutating func evaluate(
    at point: UnsafePointer<Double>, gradient: UnsafeMutablePointer<Double>
  ) -> Double
}

/// A bounded limited-memory quasi-Newton minimiser in the spirit of L-BFGS-B (Byrd, Lu, Nocedal
/// and Zhu, 1995): L-BFGS directions on the variables that are free, projection onto the box
/// [lower, upper], and a backtracking Armijo search along the projected path.
///
/// Differences from L-BFGS-B: no generalised Cauchy point; a variable is held at a bound for one
/// iteration when its gradient points out of the box, and the step is projected. Iterations stop
/// early when the projected gradient's largest component falls below `gradientTolerance`
/// (scipy's `pgtol`, 1e-5) or no step decreases the objective.
struct BoundedLBFGS {
  let variableCount: Int
  let memory: Int
  let lower: Double
  let upper: Double
  var gradientTolerance = 1e-5

  // Workspace, reused across calls: current point, trial point, gradients, direction, history.
  private let point: UnsafeMutablePointer<Double>
  private let trial: UnsafeMutablePointer<Double>
  private let gradient: UnsafeMutablePointer<Double>
  private let trialGradient: UnsafeMutablePointer<Double>
  private let direction: UnsafeMutablePointer<Double>
  private let steps: UnsafeMutablePointer<Double>
  private let gradientChanges: UnsafeMutablePointer<Double>
  private let curvatures: UnsafeMutablePointer<Double>
  private let alphas: UnsafeMutablePointer<Double>

  init(variableCount: Int, memory: Int = 10, lower: Double, upper: Double) {
    precondition(variableCount > 0 && memory > 0 && lower < upper)
    self.variableCount = variableCount
    self.memory = memory
    self.lower = lower
    self.upper = upper
    point = .allocate(capacity: variableCount)
    trial = .allocate(capacity: variableCount)
    gradient = .allocate(capacity: variableCount)
    trialGradient = .allocate(capacity: variableCount)
    direction = .allocate(capacity: variableCount)
    steps = .allocate(capacity: variableCount * memory)
    gradientChanges = .allocate(capacity: variableCount * memory)
    curvatures = .allocate(capacity: memory)
    alphas = .allocate(capacity: memory)
  }

  func deallocate() {
    for buffer in [point, trial, gradient, trialGradient, direction, steps, gradientChanges] {
      buffer.deallocate()
    }
    curvatures.deallocate()
    alphas.deallocate()
  }

  /// Minimises `objective` from `start` (projected into the box) for at most `iterations`
  /// iterations; writes the result into `result` and returns its objective value.
  @discardableResult
  func minimize<Objective: DifferentiableObjective>(
    _ objective: inout Objective, from start: UnsafePointer<Double>,
    into result: UnsafeMutablePointer<Double>, iterations: Int
  ) -> Double {
    let n = variableCount
    precondition(objective.variableCount == n)
    for index in 0..<n { point[index] = clamp(start[index]) }
    var value = objective.evaluate(at: point, gradient: gradient)
    var stored = 0
    var newest = -1
    for _ in 0..<iterations {
      if projectedGradientNorm() <= gradientTolerance { break }
      var slope = computeDirection(stored: stored, newest: newest)
      if !(slope < 0) {
        // The quasi-Newton direction does not descend: fall back to steepest descent.
        stored = 0
        for index in 0..<n {
          direction[index] = isHeld(index) ? 0 : -gradient[index]
        }
        slope = -dot(direction, direction)
        if !(slope < 0) { break }
      }
      var stepLength = 1.0
      if stored == 0 {
        stepLength = min(1, 1 / dot(direction, direction).squareRoot())
      }
      // Weak Wolfe line search by bisection and doubling (Lewis and Overton, 2013, suited to
      // nonsmooth objectives), along the projected path.
      var low = 0.0
      var high = Double.infinity
      var accepted = false
      var trialValue = value
      var best: (length: Double, value: Double)? = nil
      for _ in 0..<20 {
        for index in 0..<n {
          trial[index] = clamp(point[index] + stepLength * direction[index])
        }
        trialValue = objective.evaluate(at: trial, gradient: trialGradient)
        var decrease = 0.0
        var newSlope = 0.0
        for index in 0..<n {
          let moved = trial[index] - point[index]
          decrease += gradient[index] * moved
          newSlope += trialGradient[index] * moved
        }
        if !(trialValue <= value + 1e-4 * decrease) {
          high = stepLength
          // Minimum of the quadratic through f(0), f'(0) and f(t), kept within [0.1 t, 0.5 t].
          let curvature = trialValue - value - decrease
          let interpolated = curvature > 0 ? -decrease * stepLength / (2 * curvature) : 0
          stepLength = max(0.1 * stepLength, min(0.5 * stepLength, interpolated))
          if low > 0 { stepLength = max(stepLength, (low + high) / 2) }
          continue
        } else {
          if trialValue < best?.value ?? value { best = (stepLength, trialValue) }
          if newSlope < 0.9 * decrease {
            low = stepLength
          } else if newSlope > -0.9 * decrease {
            high = stepLength
          } else {
            accepted = true
            break
          }
        }
        stepLength = high.isFinite ? (low + high) / 2 : 2 * stepLength
      }
      if !accepted, let best {
        // Sufficient decrease without the curvature condition: take the best such step.
        stepLength = best.length
        for index in 0..<n {
          trial[index] = clamp(point[index] + stepLength * direction[index])
        }
        trialValue = objective.evaluate(at: trial, gradient: trialGradient)
        accepted = true
      }
      guard accepted else { break }
      // Store the pair (s, y) when its curvature is positive, overwriting the oldest.
      let slot = (newest + 1) % memory
      let s = steps + slot * n
      let y = gradientChanges + slot * n
      var curvature = 0.0
      var yy = 0.0
      for index in 0..<n {
        s[index] = trial[index] - point[index]
        y[index] = trialGradient[index] - gradient[index]
        curvature += s[index] * y[index]
        yy += y[index] * y[index]
      }
      if curvature > 2.2e-16 * yy {
        curvatures[slot] = curvature
        newest = slot
        stored = min(stored + 1, memory)
      }
      point.update(from: trial, count: n)
      gradient.update(from: trialGradient, count: n)
      value = trialValue
    }
    result.update(from: point, count: n)
    return value
  }

  private func clamp(_ value: Double) -> Double {
    value < lower ? lower : (value > upper ? upper : value)
  }

  /// A variable at a bound whose gradient pushes it out of the box.
  private func isHeld(_ index: Int) -> Bool {
    (point[index] <= lower && gradient[index] > 0) || (point[index] >= upper && gradient[index] < 0)
  }

  private func projectedGradientNorm() -> Double {
    var largest = 0.0
    for index in 0..<variableCount {
      let moved = clamp(point[index] - gradient[index]) - point[index]
      largest = max(largest, abs(moved))
    }
    return largest
  }

  private func dot(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>) -> Double {
    var sum = 0.0
    for index in 0..<variableCount { sum += a[index] * b[index] }
    return sum
  }

  /// The two-loop recursion on the free variables; returns the slope gradient · direction.
  private func computeDirection(stored: Int, newest: Int) -> Double {
    let n = variableCount
    for index in 0..<n {
      direction[index] = isHeld(index) ? 0 : -gradient[index]
    }
    guard stored > 0 else { return -dot(direction, direction) }
    var slot = newest
    for pair in 0..<stored {
      let s = steps + slot * n
      let alpha = dot(s, direction) / curvatures[slot]
      alphas[pair] = alpha
      let y = gradientChanges + slot * n
      for index in 0..<n { direction[index] -= alpha * y[index] }
      slot = (slot - 1 + memory) % memory
    }
    let y = gradientChanges + newest * n
    let scale = curvatures[newest] / dot(y, y)
    for index in 0..<n { direction[index] *= scale }
    for pair in (0..<stored).reversed() {
      slot = (slot + 1) % memory
      let s = steps + slot * n
      let y = gradientChanges + slot * n
      let beta = dot(y, direction) / curvatures[slot]
      for index in 0..<n { direction[index] += (alphas[pair] - beta) * s[index] }
    }
    var slope = 0.0
    for index in 0..<n {
      if isHeld(index) { direction[index] = 0 }
      slope += direction[index] * gradient[index]
    }
    return slope
  }
}
