/// The median of a k x k window for k >= 4, computed for two horizontally neighbouring windows
/// at a time, 16 such pairs per SIMD pass.
///
/// Three generated stages (see `ComparatorNetwork`):
/// 1. each window column (k values) is sorted, once per image column;
/// 2. the k - 1 columns the two windows share are merged (only the ranks stage 3 can read);
/// 3. for each window, the shared ranks are merged with its own remaining column and rank
///    k * k / 2 is selected.
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
  /// For each rank of the shared block that stage 3 reads: (shared slot holding it, final slot).
  let sharedToFinal: [(from: Int, to: Int)]
  /// For each rank of the window's own column that stage 3 reads: (rank, final slot).
  let ownColumnRanks: [(rank: Int, slot: Int)]
  /// Merges the shared block with the window's own column.
  let finalComparators: [Comparator]
  /// The final slot holding the median.
  let resultSlot: Int
  /// Register slots needed by the largest stage.
  let registerCount: Int

  init(window k: Int) {
    precondition(k >= 4)
    window = k
    let sharedCount = k * (k - 1)
    // Stage 3: shared ranks in slots 0..<sharedCount, own column in sharedCount..<+k.
    let final = ComparatorNetwork.merging(blockLengths: [sharedCount, k])
    resultSlot = final.rankSlots[k * k / 2]
    var needed = [Bool](repeating: false, count: sharedCount + k)
    needed[resultSlot] = true
    let (finalKept, finalNeeded) = ComparatorNetwork.prune(final.comparators, needed: needed)
    finalComparators = finalKept
    ownColumnRanks = (0..<k).filter { finalNeeded[sharedCount + $0] }.map {
      (rank: $0, slot: sharedCount + $0)
    }
    // Stage 2: the k - 1 shared columns, keeping the ranks stage 3 reads.
    let shared = ComparatorNetwork.merging(blockLengths: [Int](repeating: k, count: k - 1))
    var sharedNeeded = [Bool](repeating: false, count: sharedCount)
    var links = [(from: Int, to: Int)]()
    for rank in 0..<sharedCount where finalNeeded[rank] {
      sharedNeeded[shared.rankSlots[rank]] = true
      links.append((from: shared.rankSlots[rank], to: rank))
    }
    sharedToFinal = links
    let (sharedKept, sharedUsed) = ComparatorNetwork.prune(
      shared.comparators, needed: sharedNeeded)
    sharedComparators = sharedKept
    sharedSlotUsed = sharedUsed
    // Stage 1: sort a column, keeping the ranks stages 2 and 3 read.
    var rankRead = [Bool](repeating: false, count: k)
    for slot in 0..<sharedCount where sharedUsed[slot] { rankRead[slot % k] = true }
    for (rank, _) in ownColumnRanks { rankRead[rank] = true }
    let column = ComparatorNetwork.merging(blockLengths: [Int](repeating: 1, count: k))
    var columnNeeded = [Bool](repeating: false, count: k)
    for rank in 0..<k where rankRead[rank] { columnNeeded[column.rankSlots[rank]] = true }
    columnComparators = ComparatorNetwork.prune(column.comparators, needed: columnNeeded).0
    columnRankSlots = (0..<k).map { rankRead[$0] ? column.rankSlots[$0] : -1 }
    registerCount = sharedCount + k
  }
}
