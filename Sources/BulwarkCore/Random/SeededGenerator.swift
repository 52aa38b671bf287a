import Foundation

/// A seeded pseudo-random generator: xoshiro256** (Blackman and Vigna, 2018) with its state
/// filled by SplitMix64 from a 64-bit seed.
///
/// Every random choice in Bulwark goes through this type, with a seed the user can set, so the
/// same seed gives the same numbers on every machine, Swift version and thread count. The
/// helpers below (`uniformInt(below:)`, `unitFloat()`, `unitDouble()`, `gaussian()`, `shuffle(_:)`) are our own
/// rather than the standard library's, whose algorithms may change between releases.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var state: (UInt64, UInt64, UInt64, UInt64)

  /// Creates a generator whose sequence is fixed by `seed`.
  public init(seed: UInt64) {
    var splitMix = seed
    func next() -> UInt64 {
      splitMix &+= 0x9E37_79B9_7F4A_7C15
      var z = splitMix
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    state = (next(), next(), next(), next())
  }

  /// A generator for one of several independent streams drawn from the same seed (one per
  /// image, per worker chunk, per grid point), so results do not depend on the order in which
  /// threads take work.
  /// - Parameters:
  ///   - seed: The user's seed.
  ///   - stream: The stream's index.
  public init(seed: UInt64, stream: UInt64) {
    self.init(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03) &+ stream)
  }

  /// The next 64 random bits.
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

  /// A uniform integer in `0..<bound`, without modulo bias (Lemire's multiply-and-reject).
  /// - Precondition: `bound > 0`.
  public mutating func uniformInt(below bound: Int) -> Int {
    precondition(bound > 0, "bound must be positive")
    let range = UInt64(bound)
    var product = next().multipliedFullWidth(by: range)
    if product.low < range {
      let threshold = (0 &- range) % range
      while product.low < threshold {
        product = next().multipliedFullWidth(by: range)
      }
    }
    return Int(product.high)
  }

  /// A uniform float in [0, 1) with 24 random bits.
  public mutating func unitFloat() -> Float {
    Float(next() >> 40) * 0x1.0p-24
  }

  /// A uniform double in [0, 1) with 53 random bits.
  public mutating func unitDouble() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// A standard normal value (Box-Muller; one of the pair is used, so each call takes two
  /// uniforms and the sequence does not depend on call pairing).
  public mutating func gaussian() -> Double {
    let u1 = 1 - unitDouble()  // (0, 1]: the logarithm stays finite
    let u2 = unitDouble()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }

  /// Shuffles `elements` in place (Fisher-Yates, from the back).
  public mutating func shuffle<Element>(_ elements: inout [Element]) {
    guard elements.count > 1 else { return }
    for index in stride(from: elements.count - 1, to: 0, by: -1) {
      let other = uniformInt(below: index + 1)
      elements.swapAt(index, other)
    }
  }

  private func rotate(_ value: UInt64, _ amount: UInt64) -> UInt64 {
    (value << amount) | (value >> (64 - amount))
  }
}
