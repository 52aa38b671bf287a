import BulwarkCore
import BulwarkData
import Foundation

/// The Square Attack (Andriushchenko, Croce, Flammarion and Hein, ECCV 2020): a score-based
/// black-box attack that needs only the classifier's output probabilities, so it attacks what
/// gradients cannot see (trees, rounding, abstentions, external stages), L-infinity or L2.
///
/// The loss is the margin on the output probabilities, `p_y − max_{i≠y} p_i` (targeted:
/// `max_{i≠t} p_i − p_t`), which the attack lowers. L-infinity starts from vertical stripes,
/// `x ± ε` drawn per column and channel; each iteration changes one random square of side
/// `max(1, round(sqrt(p h w)))` (at most h − 1) to `x ± ε` (one sign per channel) and keeps it
/// when the margin drops or the attack succeeds. L2 starts from a grid of the paper's
/// centre-weighted patterns and moves the mass of one square into a new pattern at another
/// square, staying on the ε-sphere. The square share p starts at `pInit` (0.8, AutoAttack's
/// default) and halves at iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of a
/// 10,000-query schedule rescaled to `queries`.
///
/// Every classifier call on an image counts as one query, the start included, and no image
/// gets more than `queries`. An image is done when the attack succeeded: the classifier gets
/// it wrong or abstains (targeted: predicts the target). Against a classifier whose
/// abstentions are no success (`abstentionIsAttackSuccess`: a pipeline with detectors), an
/// abstained row's margin is 2, worse than any row let through, so that the attack moves out
/// of what the detectors flag and on to images they let through and the classifier gets
/// wrong. Deliberate differences from AutoAttack's code: each image draws its square's
/// position from its own seeded stream (the reference draws one position for the whole batch),
/// so results do not depend on the batch; success is the classifier's decision rather than
/// `margin <= 0` (equal top probabilities are decided as the scorer decides them).
public struct SquareAttack: Attack {
  /// The ball the attack stays in.
  public var ball: PerturbationBall
  /// The query budget per image, the starting point included.
  public var queries: Int
  /// The initial share of the image a square covers.
  public var pInit: Double
  /// The seed of every random draw.
  public var seed: UInt64

  /// Creates the attack.
  /// - Parameters:
  ///   - norm: L-infinity (default) or L2.
  ///   - epsilon: The ball's radius.
  ///   - queries: The query budget per image (default 1,000).
  ///   - pInit: The initial square share (default 0.8).
  ///   - seed: The seed.
  public init(
    norm: AttackNorm = .infinity, epsilon: Float, queries: Int = 1_000, pInit: Double = 0.8,
    seed: UInt64 = 0
  ) {
    ball = PerturbationBall(norm: norm, epsilon: epsilon)
    self.queries = queries
    self.pInit = pInit
    self.seed = seed
  }

  /// What a run did: the adversarial images and the queries each image used.
  public struct Outcome: Sendable {
    /// The adversarial images, with the true labels.
    public var adversarial: ImageBatch
    /// The classifier calls spent on each image (at most `queries`; 0 for an image the
    /// classifier already got wrong).
    public var queries: [Int]
  }

  /// The share of the image a square covers at iteration `iteration` (from 0).
  func squareShare(at iteration: Int) -> Double {
    let scaled = Int(Double(iteration) / Double(queries) * 10_000)
    let halvings = [10, 50, 200, 500, 1_000, 2_000, 4_000, 6_000, 8_000].count { scaled > $0 }
    return pInit / Double(1 << halvings)
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
    guard queries >= 1, pInit > 0, pInit <= 1 else {
      throw ModelError(
        field: "queries", expected: "at least 1 query and pInit in (0, 1]",
        found: "\(queries) queries, pInit \(pInit)")
    }
    try classifier.checkShape(batch)
    if let targets { try checkTargets(targets, batch: batch, classes: classifier.classCount) }
    let shape = batch.shape
    let size = shape.valueCount
    var used = [Int](repeating: 0, count: batch.count)
    var result = batch.pixels
    var generators = (0..<batch.count).map { SeededGenerator(seed: seed, stream: UInt64($0)) }

    // Images the classifier already gets wrong need no query.
    let cleanSucceeded = try classifier.attackSucceeded(on: batch, targets: targets)
    var active = (0..<batch.count).filter { !cleanSucceeded[$0] }
    guard !active.isEmpty else {
      return Outcome(adversarial: batch, queries: used)
    }

    // The starting point: one query.
    for image in active {
      let start = startingPoint(
        clean: batch.pixels[image * size..<(image + 1) * size], shape: shape,
        generator: &generators[image])
      result.replaceSubrange(image * size..<(image + 1) * size, with: start)
    }
    var (margins, succeeded) = try evaluate(
      result, images: active, batch: batch, classifier: classifier, targets: targets)
    var margin = [Double](repeating: 0, count: batch.count)
    for (position, image) in active.enumerated() {
      used[image] = 1
      margin[image] = margins[position]
    }
    active = zip(active, succeeded).filter { !$0.1 }.map(\.0)

    var iteration = 0
    while !active.isEmpty, iteration < queries - 1 {
      let share = squareShare(at: iteration)
      var candidates: [Float] = []
      candidates.reserveCapacity(active.count * size)
      for image in active {
        let range = image * size..<(image + 1) * size
        candidates += candidate(
          current: result[range], clean: batch.pixels[range], shape: shape, share: share,
          generator: &generators[image])
      }
      let part = batch.selecting(active).replacingPixels(candidates)
      (margins, succeeded) = try evaluate(
        part.pixels, images: Array(0..<active.count), batch: part, classifier: classifier,
        targets: targets.map { targets in active.map { targets[$0] } })
      for (position, image) in active.enumerated() {
        used[image] += 1
        guard succeeded[position] || margins[position] < margin[image] else { continue }
        margin[image] = margins[position]
        result.replaceSubrange(
          image * size..<(image + 1) * size,
          with: candidates[position * size..<(position + 1) * size])
      }
      active = zip(active, succeeded).filter { !$0.1 }.map(\.0)
      iteration += 1
    }
    return Outcome(adversarial: batch.replacingPixels(result), queries: used)
  }

  /// The margins and successes of `images` (indices into `batch`) at `pixels`, the whole
  /// batch's values: one query each.
  private func evaluate(
    _ pixels: [Float], images: [Int], batch: ImageBatch, classifier: any Classifier,
    targets: [Int]?
  ) throws -> (margins: [Double], succeeded: [Bool]) {
    let part =
      images.count == batch.count
      ? batch.replacingPixels(pixels)
      : batch.selecting(images).replacingPixels(pixels, of: images)
    let probabilities = try classifier.probabilities(part)
    let classes = classifier.classCount
    var margins: [Double] = []
    var succeeded: [Bool] = []
    for (position, image) in images.enumerated() {
      let row = probabilities[position * classes..<(position + 1) * classes].map(Double.init)
      let label = batch.labels[image]
      let measured = targets?[image] ?? label
      let own = row[measured]
      let other = row.indices.filter { $0 != measured }.map { row[$0] }.max() ?? 0
      let abstained = row.allSatisfy { $0 == 0 }
      let evading = abstained && !classifier.abstentionIsAttackSuccess
      margins.append(evading ? 2 : targets == nil ? own - other : other - own)
      let predicted = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }
      if let target = targets?[image] {
        succeeded.append(!abstained && predicted == target)
      } else {
        succeeded.append(abstained ? !evading : predicted != label)
      }
    }
    return (margins, succeeded)
  }

  /// The clean image moved to the attack's starting point.
  private func startingPoint(
    clean: ArraySlice<Float>, shape: ImageShape, generator: inout SeededGenerator
  ) -> [Float] {
    let (height, width, channels) = (shape.height, shape.width, shape.channels)
    var delta = [Float](repeating: 0, count: clean.count)
    switch ball.norm {
    case .infinity:
      // Vertical stripes: one sign per column and channel.
      for column in 0..<width {
        for channel in 0..<channels {
          let sign: Float = generator.next() & 1 == 0 ? -1 : 1
          for row in 0..<height {
            delta[(row * width + column) * channels + channel] = sign * ball.epsilon
          }
        }
      }
    case .l2:
      // A grid of centre-weighted patterns, one sign per square and channel.
      let side = max(height / 5, 1)
      let offset = (height - side * 5) / 2
      let pattern = Self.pattern(side: side, generator: &generator)
      for squareRow in 0..<(height / side) {
        for squareColumn in 0..<(width / side) {
          for channel in 0..<channels {
            let sign: Float = generator.next() & 1 == 0 ? -1 : 1
            for y in 0..<side {
              for x in 0..<side {
                let row = offset + squareRow * side + y
                let column = offset + squareColumn * side + x
                guard row < height, column < width else { continue }
                delta[(row * width + column) * channels + channel] +=
                  sign * pattern[y * side + x]
              }
            }
          }
        }
      }
      Self.scale(&delta, toLength: ball.epsilon)
    }
    return zip(clean, delta).map { min(max($0 + $1, 0), 1) }
  }

  /// One candidate: the current image with one random square changed.
  private func candidate(
    current: ArraySlice<Float>, clean: ArraySlice<Float>, shape: ImageShape, share: Double,
    generator: inout SeededGenerator
  ) -> [Float] {
    let (height, width, channels) = (shape.height, shape.width, shape.channels)
    var result = Array(current)
    let clean = Array(clean)
    let area = Double(height * width)
    func index(_ row: Int, _ column: Int, _ channel: Int) -> Int {
      (row * width + column) * channels + channel
    }
    func position(side: Int) -> (Int, Int) {
      (
        generator.uniformInt(below: max(height - side, 1)),
        generator.uniformInt(below: max(width - side, 1))
      )
    }
    switch ball.norm {
    case .infinity:
      let side = min(max(Int((share * area).squareRoot().rounded()), 1), max(height - 1, 1))
      let (top, left) = position(side: side)
      for channel in 0..<channels {
        let sign: Float = generator.next() & 1 == 0 ? -1 : 1
        for row in top..<(top + side) {
          for column in left..<(left + side) {
            let at = index(row, column, channel)
            let moved = result[at] + 2 * ball.epsilon * sign
            result[at] = min(max(moved, clean[at] - ball.epsilon, 0), clean[at] + ball.epsilon, 1)
          }
        }
      }
    case .l2:
      var side = min(max(Int((share * area).squareRoot().rounded()), 3), max(height - 1, 1))
      if side % 2 == 0 { side = max(side - 1, 1) }
      var delta = zip(result, clean).map { $0 - $1 }
      let (top, left) = position(side: side)
      let (top2, left2) = position(side: side)
      func inFirst(_ row: Int, _ column: Int) -> Bool {
        row >= top && row < top + side && column >= left && column < left + side
      }
      func inSecond(_ row: Int, _ column: Int) -> Bool {
        row >= top2 && row < top2 + side && column >= left2 && column < left2 + side
      }
      var imageLength = 0.0
      var windowsLength = 0.0
      for row in 0..<height {
        for column in 0..<width {
          for channel in 0..<channels {
            let value = Double(delta[index(row, column, channel)])
            imageLength += value * value
            if inFirst(row, column) || inSecond(row, column) { windowsLength += value * value }
          }
        }
      }
      let budget =
        max(Double(ball.epsilon * ball.epsilon) - imageLength, 0) / Double(channels)
        + windowsLength
      let pattern = Self.pattern(side: side, generator: &generator)
      var windows: [[Float]] = []
      for channel in 0..<channels {
        let sign: Float = generator.next() & 1 == 0 ? -1 : 1
        var old = 0.0
        for y in 0..<side {
          for x in 0..<side {
            let value = Double(delta[index(top + y, left + x, channel)])
            old += value * value
          }
        }
        let oldLength = Float(old.squareRoot()) + 1e-12
        var window = (0..<(side * side)).map { offset in
          sign * pattern[offset]
            + delta[index(top + offset / side, left + offset % side, channel)] / oldLength
        }
        Self.scale(&window, toLength: Float(budget.squareRoot()))
        windows.append(window)
      }
      for channel in 0..<channels {
        for y in 0..<side {
          for x in 0..<side { delta[index(top2 + y, left2 + x, channel)] = 0 }
        }
      }
      for channel in 0..<channels {
        for offset in 0..<(side * side) {
          delta[index(top + offset / side, left + offset % side, channel)] =
            windows[channel][offset]
        }
      }
      Self.scale(&delta, toLength: ball.epsilon)
      result = zip(clean, delta).map { min(max($0 + $1, 0), 1) }
    }
    return result
  }

  /// Scales `values` to L2 length `length` (a zero vector stays zero).
  static func scale(_ values: inout [Float], toLength length: Float) {
    let current = values.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
    let factor = Float(Double(length) / (current + 1e-12))
    for index in values.indices { values[index] *= factor }
  }

  /// The paper's centre-weighted pattern on a `side` x `side` square: the top half positive,
  /// the bottom half negative, each a sum of nested rectangles weighted 1 / (k + 1)², unit L2
  /// length, transposed with probability 1/2. Row-major.
  static func pattern(side: Int, generator: inout SeededGenerator) -> [Float] {
    func rectangles(_ rows: Int, _ columns: Int) -> [Double] {
      var values = [Double](repeating: 0, count: rows * columns)
      let (centreRow, centreColumn) = (rows / 2 + 1, columns / 2 + 1)
      var (row, column) = (centreRow - 1, centreColumn - 1)
      for counter in 0..<max(centreRow, centreColumn) {
        for y in max(row, 0)..<min(row + 2 * counter + 1, rows) {
          for x in max(column, 0)..<min(column + 2 * counter + 1, columns) {
            values[y * columns + x] += 1 / Double((counter + 1) * (counter + 1))
          }
        }
        row -= 1
        column -= 1
      }
      let length = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
      return values.map { length > 0 ? $0 / length : 0 }
    }
    let upper = side / 2
    var values = rectangles(upper, side) + rectangles(side - upper, side).map { -$0 }
    let length = values.reduce(0) { $0 + $1 * $1 }.squareRoot()
    values = values.map { length > 0 ? $0 / length : 0 }
    var result = values.map(Float.init)
    if generator.unitDouble() > 0.5 {
      result = (0..<(side * side)).map { offset in
        values.isEmpty ? 0 : Float(values[(offset % side) * side + offset / side])
      }
    }
    return result
  }
}

extension SquareAttack: QueryCountingAttack {
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
