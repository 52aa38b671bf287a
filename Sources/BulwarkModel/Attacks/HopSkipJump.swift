import BulwarkCore
import BulwarkData
import Foundation

/// HopSkipJump (Chen, Jordan and Wainwright, IEEE S&P 2020): a decision-based attack that needs
/// only the classifier's decision (fooled or not), so it attacks pipelines that answer with
/// labels only, L2 or L-infinity.
///
/// Per image: a uniformly random image the classifier gets wrong is the start (at most
/// `initialTries` draws), and a binary search finds the decision boundary between it and the
/// clean image. Each iteration `t` estimates the boundary's normal from the decisions on
/// `initialEvaluations · √t` random unit perturbations of size δ at the boundary point (with
/// the mean decision as baseline), takes a geometric step of `distance / √t` along it (the
/// sign of it for L-infinity), halving the step until the point is adversarial again, and
/// searches back to the boundary. Binary searches stop at θ = γ / d^{3/2} (L2) or γ / d² (L-inf),
/// d the image's value count, as the paper sets them. The attack minimises the distance; the
/// result is finally projected onto the ε-ball, where the classifier decides whether it still
/// fools it.
///
/// Every classifier call on a candidate counts as one query and no image gets more than
/// `queries`. Random draws come from a seeded stream per image.
public struct HopSkipJump: Attack {
  /// The ball the result is projected onto.
  public var ball: PerturbationBall
  /// Iterations of gradient estimation and stepping.
  public var iterations: Int
  /// Decisions for the first gradient estimate (B₀).
  public var initialEvaluations: Int
  /// Random images tried for a start.
  public var initialTries: Int
  /// The query budget per image.
  public var queries: Int
  /// The binary search threshold's scale γ.
  public var gamma: Double
  /// The seed.
  public var seed: UInt64

  /// Creates the attack.
  /// - Parameters:
  ///   - norm: L2 (the paper's main case) or L-infinity (default).
  ///   - epsilon: The ball's radius.
  ///   - iterations: Iterations (default 40).
  ///   - initialEvaluations: B₀ (default 100).
  ///   - initialTries: Random starts tried (default 100).
  ///   - queries: The query budget per image (default 5,000).
  ///   - gamma: γ (default 1).
  ///   - seed: The seed.
  public init(
    norm: AttackNorm = .infinity, epsilon: Float, iterations: Int = 40,
    initialEvaluations: Int = 100, initialTries: Int = 100, queries: Int = 5_000,
    gamma: Double = 1, seed: UInt64 = 0
  ) {
    ball = PerturbationBall(norm: norm, epsilon: epsilon)
    self.iterations = iterations
    self.initialEvaluations = initialEvaluations
    self.initialTries = initialTries
    self.queries = queries
    self.gamma = gamma
    self.seed = seed
  }

  /// What a run did.
  public struct Outcome: Sendable {
    /// The adversarial images (projected onto the ball), with the true labels.
    public var adversarial: ImageBatch
    /// The queries each image used.
    public var queries: [Int]
  }

  /// Runs the attack and reports the queries.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: One target class per image, or nil.
  /// - Returns: The adversarial images and the queries each used.
  /// - Throws: As `perturb(_:classifier:targets:)`.
  public func run(
    _ batch: ImageBatch, classifier: any Classifier, targets: [Int]?
  ) throws -> Outcome {
    try ball.check()
    guard iterations >= 0, initialEvaluations >= 1, initialTries >= 1, queries >= 1,
      gamma > 0
    else {
      throw ModelError(
        field: "hopskipjump",
        expected: "iterations >= 0, positive evaluations, tries, queries "
          + "and gamma",
        found: "\(iterations), \(initialEvaluations), \(initialTries), "
          + "\(queries), \(gamma)")
    }
    try classifier.checkShape(batch)
    if let targets { try checkTargets(targets, batch: batch, classes: classifier.classCount) }
    let size = batch.shape.valueCount
    var pixels = batch.pixels
    var used = [Int](repeating: 0, count: batch.count)
    let cleanSucceeded = try classifier.attackSucceeded(on: batch, targets: targets)
    for image in 0..<batch.count where !cleanSucceeded[image] {
      let range = image * size..<(image + 1) * size
      var search = Search(
        attack: self, clean: Array(batch.pixels[range]), one: batch.selecting([image]),
        target: targets?[image], classifier: classifier,
        generator: SeededGenerator(seed: seed, stream: UInt64(image)))
      var found = try search.run()
      ball.project(&found, around: search.clean, imageSize: size)
      pixels.replaceSubrange(range, with: found)
      used[image] = search.used
    }
    return Outcome(adversarial: batch.replacingPixels(pixels), queries: used)
  }

  /// One image's search.
  private struct Search {
    let attack: HopSkipJump
    let clean: [Float]
    let one: ImageBatch
    let target: Int?
    let classifier: any Classifier
    var generator: SeededGenerator
    var used = 0

    var dimension: Double { Double(clean.count) }
    var theta: Double {
      attack.ball.norm == .l2
        ? attack.gamma / (dimension * dimension.squareRoot())
        : attack.gamma / (dimension * dimension)
    }
    var budgetLeft: Int { attack.queries - used }

    /// The classifier's decisions on candidates (one query each), at most the budget left.
    mutating func decide(_ candidates: [[Float]]) throws -> [Bool] {
      let allowed = Array(candidates.prefix(max(budgetLeft, 0)))
      guard !allowed.isEmpty else { return [] }
      used += allowed.count
      let batch = ImageBatch(
        shape: one.shape, pixels: allowed.flatMap { $0 },
        labels: [Int](repeating: one.labels[0], count: allowed.count), classNames: one.classNames)
      return try classifier.attackSucceeded(
        on: batch, targets: target.map { [Int](repeating: $0, count: allowed.count) })
    }

    func distance(_ point: [Float]) -> Double {
      let deltas = zip(point, clean).map { Double($0 - $1) }
      return attack.ball.norm == .l2
        ? deltas.reduce(0) { $0 + $1 * $1 }.squareRoot() : deltas.map(abs).max() ?? 0
    }

    /// The point at search parameter `alpha` between the clean image (0) and `point`: a blend
    /// for L2, a box of half-width alpha around the clean image for L-infinity.
    func between(_ point: [Float], _ alpha: Double) -> [Float] {
      switch attack.ball.norm {
      case .l2:
        return zip(clean, point).map { Float((1 - alpha) * Double($0) + alpha * Double($1)) }
      case .infinity:
        let width = Float(alpha)
        return zip(clean, point).map { min(max($1, $0 - width), $0 + width) }
      }
    }

    /// The boundary between the clean image and an adversarial `point`.
    mutating func binarySearch(_ point: [Float]) throws -> [Float] {
      var (lower, upper) = (0.0, attack.ball.norm == .l2 ? 1.0 : distance(point))
      let threshold = attack.ball.norm == .l2 ? theta : min(distance(point) * theta, theta)
      while upper - lower > threshold, budgetLeft > 0 {
        let middle = (lower + upper) / 2
        guard let adversarial = try decide([between(point, middle)]).first else { break }
        if adversarial { upper = middle } else { lower = middle }
      }
      return between(point, upper)
    }

    mutating func run() throws -> [Float] {
      // A random image the classifier gets wrong.
      var start: [Float]?
      for _ in 0..<attack.initialTries where budgetLeft > 0 {
        let candidate = clean.map { _ in generator.unitFloat() }
        if try decide([candidate]).first == true {
          start = candidate
          break
        }
      }
      guard let start else { return clean }
      var current = try binarySearch(start)
      var distance = distance(current)
      for iteration in stride(from: 1, through: attack.iterations, by: 1) {
        guard budgetLeft > 1 else { break }
        let delta =
          iteration == 1
          ? 0.1
          : (attack.ball.norm == .l2 ? dimension.squareRoot() : dimension) * theta * distance
        let count = min(
          Int(Double(attack.initialEvaluations) * Double(iteration).squareRoot()),
          budgetLeft - 1)
        guard count >= 1 else { break }
        var directions: [[Float]] = []
        var candidates: [[Float]] = []
        for _ in 0..<count {
          var direction = clean.map { _ in
            Float(attack.ball.norm == .l2 ? generator.gaussian() : 2 * generator.unitDouble() - 1)
          }
          let length = direction.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot() + 1e-12
          direction = direction.map { Float(Double($0) / length) }
          let moved = zip(current, direction).map { min(max($0 + Float(delta) * $1, 0), 1) }
          directions.append(zip(moved, current).map { Float(Double($0 - $1) / delta) })
          candidates.append(moved)
        }
        let decisions = try decide(candidates).map { $0 ? 1.0 : -1.0 }
        guard !decisions.isEmpty else { break }
        let mean = decisions.reduce(0, +) / Double(decisions.count)
        let baseline = abs(mean) == 1 ? 0 : mean
        var gradient = [Double](repeating: 0, count: clean.count)
        for (direction, decision) in zip(directions, decisions) {
          for index in gradient.indices {
            gradient[index] += (decision - baseline) * Double(direction[index])
          }
        }
        let update: [Double]
        switch attack.ball.norm {
        case .l2:
          let length = gradient.reduce(0) { $0 + $1 * $1 }.squareRoot() + 1e-12
          update = gradient.map { $0 / length }
        case .infinity:
          update = gradient.map { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }
        }
        // The geometric step: halved until the point fools the classifier again.
        var step = distance / Double(iteration).squareRoot()
        var next = current
        var accepted = false
        for _ in 0..<30 {
          next = zip(current, update).map { min(max($0 + Float(step * $1), 0), 1) }
          guard let adversarial = try decide([next]).first else { break }
          if adversarial {
            accepted = true
            break
          }
          step /= 2
        }
        guard accepted else { break }
        current = try binarySearch(next)
        distance = self.distance(current)
      }
      return current
    }
  }
}

extension HopSkipJump: QueryCountingAttack {
  /// Adversarial versions of a batch and the queries spent on each image.
  /// - Parameters:
  ///   - batch: The clean images and their true labels.
  ///   - classifier: The classifier under attack.
  ///   - targets: One target class per image, or nil.
  /// - Returns: The perturbed images and the queries per image.
  /// - Throws: As `run(_:classifier:targets:)`.
  public func perturbCountingQueries(
    _ batch: ImageBatch, classifier: any Classifier, targets: [Int]?
  ) throws -> (adversarial: ImageBatch, queries: [Int]) {
    let outcome = try run(batch, classifier: classifier, targets: targets)
    return (outcome.adversarial, outcome.queries)
  }
}
