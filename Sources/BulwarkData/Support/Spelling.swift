/// The candidate closest to a misspelt name, for "did you mean …?" hints.
///
/// - Parameters:
///   - name: What the user typed.
///   - candidates: The names that would have been accepted.
/// - Returns: The candidate with the smallest edit distance, if that distance is at most a third
///   of the longer name (at least 1); nil when nothing is close.
/// - Complexity: O(m × n) per candidate.
package func closestMatch(to name: String, among candidates: [String]) -> String? {
  var best: (candidate: String, distance: Int)?
  for candidate in candidates {
    let distance = editDistance(Array(name.lowercased()), Array(candidate.lowercased()))
    let limit = max(1, max(name.count, candidate.count) / 3)
    if distance <= limit, distance < (best?.distance ?? .max) {
      best = (candidate, distance)
    }
  }
  return best?.candidate
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
private func editDistance(_ a: [Character], _ b: [Character]) -> Int {
  if a.isEmpty { return b.count }
  if b.isEmpty { return a.count }
  var previous2 = [Int](repeating: 0, count: b.count + 1)
  var previous = Array(0...b.count)
  var current = [Int](repeating: 0, count: b.count + 1)
  for i in 1...a.count {
    current[0] = i
    for j in 1...b.count {
      let cost = a[i - 1] == b[j - 1] ? 0 : 1
      var value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
      if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
        value = min(value, previous2[j - 2] + 1)
      }
      current[j] = value
    }
    (previous2, previous, current) = (previous, current, previous2)
  }
  return previous[b.count]
}
