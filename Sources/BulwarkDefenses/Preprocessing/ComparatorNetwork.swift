/// Building blocks of comparator networks that select order statistics, run on 16 neighbouring
/// output pixels at once (one per SIMD lane).
///
/// Networks are generated, not written by hand: Batcher's odd-even merges of sorted blocks, with
/// blocks padded to a power of two by +infinity wires that are resolved while the network is
/// built (so no padding is executed), then pruned backwards from the outputs that are read: a
/// comparator whose outputs are never read is dropped, and one whose min (or max) output alone
/// is read keeps only that half.
enum ComparatorNetwork {
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

  /// A network merging sorted blocks of the given lengths into one sorted sequence. Block `b`'s
  /// element `e` enters in slot `b's offset + e` (blocks numbered consecutively); returns the
  /// comparators (not yet pruned) and, for each rank, the slot that holds it at the end.
  static func merging(blockLengths: [Int]) -> (comparators: [Comparator], rankSlots: [Int]) {
    let block = powerOfTwo(atLeast: blockLengths.max() ?? 1)
    let blocks = powerOfTwo(atLeast: blockLengths.count)
    var wireSlot = [Int](repeating: -1, count: block * blocks)
    var slot = 0
    for (index, length) in blockLengths.enumerated() {
      for element in 0..<length {
        wireSlot[index * block + element] = slot
        slot += 1
      }
    }
    var wires = [(Int, Int)]()
    oddEvenMergeSort(lo: 0, hi: block * blocks - 1, sortedBlock: block, into: &wires)
    let comparators = resolve(wires, wireSlot: &wireSlot)
    return (comparators, Array(wireSlot[0..<slot]))
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

  /// Runs `comparators` on registers of 16 lanes each, held in untyped memory (register `r`
  /// at byte offset `64 r`).
  ///
  /// Works on four-lane quarters: on SSE2 a four-lane mask is exactly what a compare produces,
  /// whereas wider masks get packed to bytes and back (measured about 1.4 times slower).
  @inline(__always)
  static func run(
    _ comparators: UnsafeBufferPointer<Comparator>, on registers: UnsafeMutableRawPointer
  ) {
    for op in comparators {
      let low = Int(truncatingIfNeeded: op.low) &* 64
      let high = Int(truncatingIfNeeded: op.high) &* 64
      switch op.kind {
      case .both:
        for quarter in stride(from: 0, to: 64, by: 16) {
          let x = registers.load(fromByteOffset: low &+ quarter, as: SIMD4<Float>.self)
          let y = registers.load(fromByteOffset: high &+ quarter, as: SIMD4<Float>.self)
          let swap = y .< x
          registers.storeBytes(
            of: x.replacing(with: y, where: swap), toByteOffset: low &+ quarter,
            as: SIMD4<Float>.self)
          registers.storeBytes(
            of: y.replacing(with: x, where: swap), toByteOffset: high &+ quarter,
            as: SIMD4<Float>.self)
        }
      case .minimumOnly:
        for quarter in stride(from: 0, to: 64, by: 16) {
          let x = registers.load(fromByteOffset: low &+ quarter, as: SIMD4<Float>.self)
          let y = registers.load(fromByteOffset: high &+ quarter, as: SIMD4<Float>.self)
          registers.storeBytes(
            of: x.replacing(with: y, where: y .< x), toByteOffset: low &+ quarter,
            as: SIMD4<Float>.self)
        }
      case .maximumOnly:
        for quarter in stride(from: 0, to: 64, by: 16) {
          let x = registers.load(fromByteOffset: low &+ quarter, as: SIMD4<Float>.self)
          let y = registers.load(fromByteOffset: high &+ quarter, as: SIMD4<Float>.self)
          registers.storeBytes(
            of: y.replacing(with: x, where: y .< x), toByteOffset: high &+ quarter,
            as: SIMD4<Float>.self)
        }
      }
    }
  }
}
