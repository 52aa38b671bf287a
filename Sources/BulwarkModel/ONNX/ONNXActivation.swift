import Foundation

/// An elementwise activation of an ONNX graph other than Relu (which has its own fast step),
/// with its derivative for the input gradient. The definitions are ONNX's; at a kink the
/// derivative is PyTorch's (0 where Clip and HardSigmoid clip, the inside slope at their ends
/// excluded).
enum ONNXActivation: Sendable, Equatable {
  /// `min(max(x, lower), upper)`; Relu6 is `Clip(0, 6)`.
  case clip(lower: Float, upper: Float)
  /// `1 / (1 + e^-x)`.
  case sigmoid
  /// `max(0, min(1, alpha x + beta))`.
  case hardSigmoid(alpha: Float, beta: Float)
  /// `x max(0, min(1, x / 6 + 1/2))`.
  case hardSwish
  /// `tanh x`.
  case tanh
  /// `x` for `x >= 0`, else `alpha x`.
  case leakyRelu(alpha: Float)
  /// `x` for `x > 0`, else `alpha (e^x - 1)`.
  case elu(alpha: Float)
  /// `x Φ(x)`, exactly (`x/2 (1 + erf(x/√2))`) or by the tanh approximation
  /// (`x/2 (1 + tanh(√(2/π) (x + 0.044715 x³)))`).
  case gelu(tanhApproximation: Bool)
  /// The error function.
  case erf
  /// `x^exponent` for a constant exponent (`Pow`; the decomposed LayerNorm squares).
  case power(Float)
  /// `√x`.
  case squareRoot

  /// The activation of one value (computed in double precision, rounded once).
  func value(_ x: Float) -> Float {
    let v = Double(x)
    switch self {
    case .clip(let lower, let upper): return min(max(x, lower), upper)
    case .sigmoid: return Float(1 / (1 + Foundation.exp(-v)))
    case .hardSigmoid(let alpha, let beta): return max(0, min(1, alpha * x + beta))
    case .hardSwish: return x * max(0, min(1, x / 6 + 0.5))
    case .tanh: return Float(Foundation.tanh(v))
    case .leakyRelu(let alpha): return x >= 0 ? x : alpha * x
    case .elu(let alpha): return x > 0 ? x : Float(Double(alpha) * Foundation.expm1(v))
    case .gelu(let tanhApproximation):
      guard tanhApproximation else {
        return Float(v / 2 * (1 + Foundation.erf(v / 2.0.squareRoot())))
      }
      return Float(v / 2 * (1 + Foundation.tanh(Self.geluScale * (v + 0.044715 * v * v * v))))
    case .erf: return Float(Foundation.erf(v))
    case .power(let exponent): return Float(Foundation.pow(v, Double(exponent)))
    case .squareRoot: return x.squareRoot()
    }
  }

  /// The derivative at one value.
  func derivative(_ x: Float) -> Float {
    let v = Double(x)
    switch self {
    case .clip(let lower, let upper): return x > lower && x < upper ? 1 : 0
    case .sigmoid:
      let s = 1 / (1 + Foundation.exp(-v))
      return Float(s * (1 - s))
    case .hardSigmoid(let alpha, let beta):
      let inside = alpha * x + beta
      return inside > 0 && inside < 1 ? alpha : 0
    case .hardSwish:
      if x <= -3 { return 0 }
      if x >= 3 { return 1 }
      return (2 * x + 3) / 6
    case .tanh:
      let t = Foundation.tanh(v)
      return Float(1 - t * t)
    case .leakyRelu(let alpha): return x >= 0 ? 1 : alpha
    case .elu(let alpha): return x > 0 ? 1 : Float(Double(alpha) * Foundation.exp(v))
    case .gelu(let tanhApproximation):
      guard tanhApproximation else {
        let cdf = (1 + Foundation.erf(v / 2.0.squareRoot())) / 2
        let density = Foundation.exp(-v * v / 2) / (2 * Double.pi).squareRoot()
        return Float(cdf + v * density)
      }
      let inner = Self.geluScale * (v + 0.044715 * v * v * v)
      let t = Foundation.tanh(inner)
      let innerDerivative = Self.geluScale * (1 + 3 * 0.044715 * v * v)
      return Float((1 + t) / 2 + v / 2 * (1 - t * t) * innerDerivative)
    case .erf: return Float(2 / Double.pi.squareRoot() * Foundation.exp(-v * v))
    case .power(let exponent):
      return Float(Double(exponent) * Foundation.pow(v, Double(exponent) - 1))
    case .squareRoot: return Float(0.5 / v.squareRoot())
    }
  }

  /// √(2/π), the tanh approximation's scale.
  private static let geluScale = (2 / Double.pi).squareRoot()
}
