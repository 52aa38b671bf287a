import Foundation

/// A seeded pseudo-random generator, xoshiro256** (Blackman and Vigna 2018), its state filled
/// by SplitMix64 from a 64-bit seed, so initialisation, shuffling and random starts reproduce
/// exactly on every platform.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
  var state: (UInt64, UInt64, UInt64, UInt64)

  /// Creates a generator from a seed.
  /// - Parameter seed: Any 64-bit value; equal seeds give equal sequences.
  public init(seed: UInt64) {
    var mix = seed
    func splitMix() -> UInt64 {
      mix &+= 0x9E37_79B9_7F4A_7C15
      var z = mix
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    state = (splitMix(), splitMix(), splitMix(), splitMix())
  }

  /// The next 64 random bits.
  /// - Returns: A uniformly distributed value.
  public mutating func next() -> UInt64 {
    let result = rotate(state.1 &* 5, 7) &* 9
    let t = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= t
    state.3 = rotate(state.3, 45)
    return result
  }

  /// A float uniform in [0, 1) with 24 random bits.
  mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1p-24 }

  /// A double uniform in [0, 1) with 53 random bits.
  mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1p-53 }

  /// A standard normal value (Box-Muller).
  mutating func nextGaussian() -> Double {
    let u = 1 - nextUnitDouble()  // (0, 1]
    let v = nextUnitDouble()
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
  }

  /// A Fisher-Yates shuffle of `0..<count`.
  mutating func permutation(_ count: Int) -> [Int] {
    var indices = Array(0..<count)
    var index = count - 1
    while index > 0 {
      let other = Int(next() % UInt64(index + 1))
      indices.swapAt(index, other)
      index -= 1
    }
    return indices
  }

  private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
}
