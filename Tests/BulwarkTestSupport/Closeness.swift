import Testing

/// Expects two arrays to hold the same number of values, each within `tolerance` of its
/// counterpart (absolute, or relative to the expected value's size when that is larger than 1).
/// A failure points at the caller and names the first differing index.
/// - Parameters:
///   - actual: The values computed.
///   - expected: The values wanted.
///   - tolerance: The largest difference allowed.
///   - comment: Said with a failure.
///   - sourceLocation: Where the expectation is (the caller).
public func expectClose<Value: BinaryFloatingPoint>(
  _ actual: [Value], _ expected: [Value], tolerance: Value, _ comment: Comment? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  guard actual.count == expected.count else {
    Issue.record(
      "\(actual.count) values where \(expected.count) were expected. \(comment ?? "")",
      sourceLocation: sourceLocation)
    return
  }
  if let index = actual.indices.first(where: {
    !isClose(actual[$0], expected[$0], tolerance: tolerance)
  }) {
    let message =
      "value \(index): \(actual[index]) is not within \(tolerance) of \(expected[index])"
    Issue.record("\(message). \(comment ?? "")", sourceLocation: sourceLocation)
  }
}

/// Expects a value within `tolerance` of another (absolute, or relative to the expected value's
/// size when that is larger than 1). A failure points at the caller.
/// - Parameters:
///   - actual: The value computed.
///   - expected: The value wanted.
///   - tolerance: The largest difference allowed.
///   - comment: Said with a failure.
///   - sourceLocation: Where the expectation is (the caller).
public func expectClose<Value: BinaryFloatingPoint>(
  _ actual: Value, _ expected: Value, tolerance: Value, _ comment: Comment? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  if !isClose(actual, expected, tolerance: tolerance) {
    Issue.record(
      "\(actual) is not within \(tolerance) of \(expected). \(comment ?? "")",
      sourceLocation: sourceLocation)
  }
}

/// Whether `actual` is within `tolerance` of `expected`, scaled by `expected`'s size above 1.
func isClose<Value: BinaryFloatingPoint>(_ actual: Value, _ expected: Value, tolerance: Value)
  -> Bool
{
  guard actual.isFinite == expected.isFinite else { return false }
  guard actual.isFinite else { return actual == expected }
  return abs(actual - expected) <= tolerance * max(1, abs(expected))
}
