/// The median of a k x k window for k >= 4, computed for two horizontally neighbouring windows
/// at a time, 16 such pairs per SIMD pass.
///
/// Three stages:
/// 1. each window column (k values) is sorted, once per image column (a generated network, see
///    `ComparatorNetwork`);
/// 2. the k - 1 columns the two windows share are merged by a generated network pruned to the
///    k + 1 ranks stage 3 reads;
/// 3. for each window, rank r = k * k / 2 of the union of the sorted shared block A and the
///    window's own sorted column B is min(A[r], min over i in 1...k of max(A[r - i], B[i - 1]))
///    (the r-th smallest takes i values from B and r + 1 - i from A), 2k operations.
/// Stage 2 runs once per pair, which roughly halves the work of a per-window network.
struct PairedMedianNetwork: Sendable {
  typealias Comparator = ComparatorNetwork.Comparator

  let window: Int
  /// Sorts one column; slot `e` holds row `e` on entry.
  let columnComparators: [Comparator]
  /// For each rank of a sorted column, its slot after `columnComparators`, or -1 when unread.
  let columnRankSlots: [Int]
  /// Merges the shared columns; slot `c * window + e` holds rank `e` of shared column `c`.
  let sharedComparators: [Comparator]
  /// Whether each shared-stage slot is read (unread ones are not loaded).
  let sharedSlotUsed: [Bool]
  /// The slots holding ranks r - k ... r of the shared block after `sharedComparators`
  /// (index i holds rank r - k + i).
  let sharedRankSlots: [Int]

  init(window k: Int) {
    precondition(k >= 4)
    window = k
    let sharedCount = k * (k - 1)
    let rank = k * k / 2
    let shared = ComparatorNetwork.merging(blockLengths: [Int](repeating: k, count: k - 1))
    var sharedNeeded = [Bool](repeating: false, count: sharedCount)
    sharedRankSlots = ((rank - k)...rank).map { shared.rankSlots[$0] }
    for slot in sharedRankSlots { sharedNeeded[slot] = true }
    let (sharedKept, sharedUsed) = ComparatorNetwork.prune(
      shared.comparators, needed: sharedNeeded)
    sharedComparators = sharedKept
    sharedSlotUsed = sharedUsed
    // Stage 1 keeps the ranks stage 2 reads, and every rank (stage 3 reads the whole column).
    let column = ComparatorNetwork.merging(blockLengths: [Int](repeating: 1, count: k))
    columnComparators = column.comparators
    columnRankSlots = column.rankSlots
  }
}
