import Foundation

/// The values one stage parameter of a search space takes: a fixed value (`window: 3`), a list
/// of alternatives (`window: [2, 3, 5]`) or a range (`quality: { from: 10, to: 90, step: 10 }`,
/// both ends included).
///
/// A parameter whose own value is an array (`clipValues: [0, 1]`) is written as a list of one
/// alternative in a search space: `clipValues: [[0, 1]]`.
struct ParameterGrid: Sendable {
  /// The values, in the order they are tried.
  var values: [JSONValue]
  /// Whether the values came from a list or a range (so that a bad one is named by index).
  var isGrid: Bool
  /// The spacing of a range, or the smallest gap between a list's numbers (for refinement).
  var spacing: Double?

  /// Reads a parameter's value from a search space.
  /// - Parameters:
  ///   - value: The value as written.
  ///   - path: Its path, for errors.
  ///   - file: The pipeline file, for errors.
  /// - Returns: The grid.
  /// - Throws: `PipelineError` for a malformed range or an empty list.
  static func parse(
    _ value: JSONValue, path: String, file: String
  ) throws(PipelineError) -> ParameterGrid {
    switch value {
    case .array(let elements):
      guard !elements.isEmpty else {
        throw PipelineError(file: file, path: path, message: "expected at least one value")
      }
      return ParameterGrid(values: elements, isGrid: true, spacing: spacing(of: elements))
    case .object(let members) where members.contains(where: { $0.key == "from" }):
      func number(_ key: String) throws(PipelineError) -> Double {
        guard case .number(let number)? = value[key], number.isFinite else {
          let found = value[key].map(JSONValueDecoder.describe) ?? "nothing"
          throw PipelineError(
            file: file, path: path + "." + key, message: "expected a number, found \(found)")
        }
        return number
      }
      if let extra = members.first(where: { !["from", "to", "step"].contains($0.key) }) {
        throw PipelineError(
          file: file, path: path + "." + extra.key,
          message: "unknown key in a range (known keys: from, to, step)")
      }
      let from = try number("from")
      let to = try number("to")
      let step = try number("step")
      guard step > 0 else {
        throw PipelineError(
          file: file, path: path + ".step", message: "expected a number > 0, found \(step)")
      }
      guard from <= to else {
        throw PipelineError(
          file: file, path: path + ".to",
          message: "expected a number >= from (\(from)), found \(to)")
      }
      // Counted in Double first: a tiny step or a huge end must not trap converting to Int.
      let count = rangeCount(from: from, to: to, step: step)
      guard count <= Double(maximumValues) else {
        throw PipelineError(
          file: file, path: path,
          message: "a range of \(describeCount(count)) values; at most "
            + "\(maximumValues)")
      }
      let values = range(from: from, to: to, step: step)
      return ParameterGrid(values: values.map(JSONValue.number), isGrid: true, spacing: step)
    default:
      return ParameterGrid(values: [value], isGrid: false, spacing: nil)
    }
  }

  /// How many values a parameter's text stands for, without building them: a list's length,
  /// a range's count (in `Double`, so that a step of 1e-300 cannot trap), 1 for a fixed value
  /// or a malformed range (which ``parse(_:path:file:)`` names).
  /// - Parameter value: The value as written.
  /// - Returns: The count, at least 1.
  static func valueCount(of value: JSONValue) -> Double {
    switch value {
    case .array(let elements):
      return Double(max(elements.count, 1))
    case .object(let members) where members.contains(where: { $0.key == "from" }):
      guard case .number(let from)? = value["from"], case .number(let to)? = value["to"],
        case .number(let step)? = value["step"], step > 0, from <= to
      else { return 1 }
      let count = rangeCount(from: from, to: to, step: step)
      return count.isFinite ? count : 1
    default:
      return 1
    }
  }

  /// The number of values of the range `from...to` by `step`, in `Double`.
  static func rangeCount(from: Double, to: Double, step: Double) -> Double {
    ((to - from) / step + 1e-9).rounded(.down) + 1
  }

  /// A count for a message: exact below 10^15, else `about 2e+300`.
  static func describeCount(_ count: Double) -> String {
    count < 1e15 ? JSONValue.format(count) : "about " + String(format: "%.3g", count)
  }

  /// The most values a range may expand to.
  static let maximumValues = 10_000

  /// The most configurations a search space, or one stage object's parameter lists, may
  /// expand to: beyond it `validate` and `tune` stop with an error instead of exhausting memory.
  static let maximumConfigurations = 100_000

  /// `from, from + step, …` up to `to` (included when it falls on the grid), each rounded to
  /// 9 decimals so that 0.1 + 0.2 reads 0.3. The caller checks the count first.
  static func range(from: Double, to: Double, step: Double) -> [Double] {
    let count = Int(rangeCount(from: from, to: to, step: step))
    return (0..<count).map { rounded(from + Double($0) * step) }
  }

  /// Rounds to 9 decimals.
  static func rounded(_ value: Double) -> Double { (value * 1e9).rounded() / 1e9 }

  /// The values a refinement tries around `value`, found on a grid of spacing `spacing`: for
  /// integers the integers within half a spacing (at least the neighbours), otherwise a window
  /// one spacing wide in tenths of the spacing (the CS5260 report: 0.01 steps in a 0.1-wide
  /// window around the best of a 0.1 grid). `value` itself is excluded.
  /// - Parameters:
  ///   - value: The best value found.
  ///   - spacing: The coarse grid's spacing.
  ///   - integral: Whether the parameter takes integers.
  /// - Returns: The finer values, ascending.
  static func refinement(around value: Double, spacing: Double, integral: Bool) -> [Double] {
    if integral {
      let half = max(1, Int((spacing / 2).rounded(.down)))
      let center = Int(value)
      return (center - half...center + half).filter { $0 != center }.map(Double.init)
    }
    let fine = spacing / 10
    return (-5...5).filter { $0 != 0 }.map { rounded(value + Double($0) * fine) }
  }

  private static func spacing(of elements: [JSONValue]) -> Double? {
    let numbers = elements.compactMap { element -> Double? in
      if case .number(let number) = element { return number }
      return nil
    }.sorted()
    let gaps = zip(numbers, numbers.dropFirst()).map { $1 - $0 }.filter { $0 > 0 }
    return gaps.min()
  }
}
