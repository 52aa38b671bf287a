/// A comparator network that selects one order statistic of a k x k window, run on 16
/// neighbouring output pixels at once (one per SIMD lane).
///
/// It works in two stages. First each window column (k values) is sorted; a column is shared by
/// k horizontally neighbouring windows, so this stage runs once per column of the image. Then
/// the k sorted columns are merged with Batcher's odd-even merges (columns padded to a power of
/// two with +infinity, resolved while the network is built, so no padding is executed), and
/// every comparator that cannot influence the selected rank is pruned; a comparator whose min
/// (or max) output is never read keeps only the other half.
struct SelectionNetwork: Sendable {
  /// One comparator on two register slots.
  struct Comparator: Sendable {
    /// Slot that receives the minimum.
    var low: Int32
    /// Slot that receives the maximum.
    var high: Int32
    /// Which outputs are needed.
    var kind: Kind
  }

  /// Which outputs of a comparator are read later.
  enum Kind: UInt8, Sendable {
    case both, minimumOnly, maximumOnly
  }

  /// The window side.
  let window: Int
  /// Comparators sorting one column; slot `e` holds row `e` of the column on entry.
  let columnComparators: [Comparator]
  /// For each rank `e` of a sorted column, the slot holding it after `columnComparators`, or -1
  /// if no later stage reads that rank.
  let columnRankSlots: [Int]
  /// Comparators merging the columns; slot `c * window + e` holds rank `e` of column `c`.
  let mergeComparators: [Comparator]
  /// Whether each merge slot is read at all (unread slots are not loaded).
  let mergeSlotUsed: [Bool]
  /// The merge slot holding the selected rank at the end.
  let resultSlot: Int

  /// Builds the network selecting sorted position `rank` (0-based) of a `window` x `window`
  /// window.
  init(window: Int, rank: Int) {
    precondition(window >= 1 && rank >= 0 && rank < window * window)
    self.window = window
    let padded = Self.powerOfTwo(atLeast: window)

    // Merge stage over `padded * padded` wires: column c occupies wires c*padded ..< +padded.
    var wireSlot = [Int](repeating: -1, count: padded * padded)
    for column in 0..<window {
      for element in 0..<window {
        wireSlot[column * padded + element] = column * window + element
      }
    }
    var merge = [(Int, Int)]()
    Self.oddEvenMergeSort(lo: 0, hi: padded * padded - 1, sortedBlock: padded, into: &merge)
    let mergeOps = Self.resolve(merge, wireSlot: &wireSlot)
    let (prunedMerge, mergeNeeded) = Self.prune(
      mergeOps, slotCount: window * window, output: wireSlot[rank])
    mergeComparators = prunedMerge
    mergeSlotUsed = mergeNeeded
    resultSlot = wireSlot[rank]

    // Column stage: sort `window` values, keeping only the ranks some merge slot reads.
    var columnWireSlot = [Int](repeating: -1, count: padded)
    for element in 0..<window { columnWireSlot[element] = element }
    var sort = [(Int, Int)]()
    Self.oddEvenMergeSort(lo: 0, hi: padded - 1, sortedBlock: 1, into: &sort)
    let columnOps = Self.resolve(sort, wireSlot: &columnWireSlot)
    var rankNeeded = [Bool](repeating: false, count: window)
    for slot in 0..<(window * window) where mergeNeeded[slot] {
      rankNeeded[slot % window] = true
    }
    var needed = [Bool](repeating: false, count: window)
    for element in 0..<window where rankNeeded[element] {
      needed[columnWireSlot[element]] = true
    }
    columnComparators = Self.prune(columnOps, needed: needed).0
    columnRankSlots = (0..<window).map { rankNeeded[$0] ? columnWireSlot[$0] : -1 }
  }

  static func powerOfTwo(atLeast value: Int) -> Int {
    var result = 1
    while result < value { result *= 2 }
    return result
  }

  /// Batcher's odd-even merge sort of wires `lo...hi` (a power of two of them), skipping the
  /// sorts of blocks of `sortedBlock` wires, which are sorted on entry.
  static func oddEvenMergeSort(lo: Int, hi: Int, sortedBlock: Int, into ops: inout [(Int, Int)]) {
    guard hi - lo + 1 > sortedBlock else { return }
    let mid = lo + (hi - lo) / 2
    oddEvenMergeSort(lo: lo, hi: mid, sortedBlock: sortedBlock, into: &ops)
    oddEvenMergeSort(lo: mid + 1, hi: hi, sortedBlock: sortedBlock, into: &ops)
    oddEvenMerge(lo: lo, hi: hi, distance: 1, into: &ops)
  }

  static func oddEvenMerge(lo: Int, hi: Int, distance: Int, into ops: inout [(Int, Int)]) {
    let step = distance * 2
    if step < hi - lo {
      oddEvenMerge(lo: lo, hi: hi, distance: step, into: &ops)
      oddEvenMerge(lo: lo + distance, hi: hi, distance: step, into: &ops)
      for index in stride(from: lo + distance, to: hi - distance, by: step) {
        ops.append((index, index + distance))
      }
    } else {
      ops.append((lo, lo + distance))
    }
  }

  /// Turns wire comparators into slot comparators, resolving the +infinity padding wires
  /// (slot -1): against infinity a comparator either does nothing or moves a value down.
  static func resolve(_ ops: [(Int, Int)], wireSlot: inout [Int]) -> [Comparator] {
    var result = [Comparator]()
    for (low, high) in ops {
      let a = wireSlot[low]
      let b = wireSlot[high]
      if b < 0 { continue }
      if a < 0 {
        wireSlot.swapAt(low, high)
        continue
      }
      result.append(Comparator(low: Int32(a), high: Int32(b), kind: .both))
    }
    return result
  }

  static func prune(_ ops: [Comparator], slotCount: Int, output: Int) -> ([Comparator], [Bool]) {
    var needed = [Bool](repeating: false, count: slotCount)
    needed[output] = true
    return prune(ops, needed: needed)
  }

  /// Drops comparators whose outputs are never read, walking backwards from the needed slots;
  /// returns the kept comparators and the slots read on entry.
  static func prune(_ ops: [Comparator], needed start: [Bool]) -> ([Comparator], [Bool]) {
    var needed = start
    var kept = [Comparator]()
    for op in ops.reversed() {
      let low = Int(op.low)
      let high = Int(op.high)
      switch (needed[low], needed[high]) {
      case (false, false): continue
      case (true, true): kept.append(op)
      case (true, false): kept.append(Comparator(low: op.low, high: op.high, kind: .minimumOnly))
      case (false, true): kept.append(Comparator(low: op.low, high: op.high, kind: .maximumOnly))
      }
      needed[low] = true
      needed[high] = true
    }
    return (kept.reversed(), needed)
  }

  /// Runs `comparators` on SIMD registers.
  @inline(__always)
  static func run(
    _ comparators: UnsafeBufferPointer<Comparator>, on registers: UnsafeMutablePointer<SIMD16<Float>>
  ) {
    for op in comparators {
      let low = Int(truncatingIfNeeded: op.low)
      let high = Int(truncatingIfNeeded: op.high)
      let x = registers[low]
      let y = registers[high]
      let swap = y .< x
      switch op.kind {
      case .both:
        registers[low] = x.replacing(with: y, where: swap)
        registers[high] = y.replacing(with: x, where: swap)
      case .minimumOnly:
        registers[low] = x.replacing(with: y, where: swap)
      case .maximumOnly:
        registers[high] = y.replacing(with: x, where: swap)
      }
    }
  }
}
