import BulwarkCore
import Testing

@testable import BulwarkModel

/// Max pooling's 2x2, stride 2 paths against a plain reading of the definition: the maximum of
/// each window, and its gradient routed to the window's first maximum in row-major order
/// (PyTorch's rule), on values with many ties.
@Suite struct PoolingTests {
  /// Shapes with an odd width (the last column is in no window) and with rows of more windows
  /// than one vector step takes.
  @Test(arguments: [(3, 6, 7), (2, 4, 37)])
  func theTwoByTwoPathsTakeTheFirstMaximum(planes: Int, height: Int, width: Int) {
    let (outHeight, outWidth) = (height / 2, width / 2)
    let pool = Pooling(
      planes: planes, inHeight: height, inWidth: width, outHeight: outHeight,
      outWidth: outWidth, kernelHeight: 2, kernelWidth: 2, strideY: 2, strideX: 2,
      pads: [0, 0, 0, 0], dilationY: 1, dilationX: 1, countIncludePad: false)
    var generator = SeededGenerator(seed: 3)
    // Three levels only, so most windows hold ties; a NaN never wins.
    var input = (0..<(planes * height * width)).map { _ in Float(Int(generator.unitDouble() * 3)) }
    input[width + 1] = .nan
    let outputs = planes * outHeight * outWidth
    // Gradients of both signs, and a negative zero (routed as +0).
    var upstream = (0..<outputs).map { (index: Int) -> Float in
      index % 2 == 0 ? Float(index + 1) : -Float(index)
    }
    upstream[2] = -0.0
    var output = [Float](repeating: .nan, count: outputs)
    var gradients = [[Float]](repeating: [Float](repeating: .nan, count: input.count), count: 2)
    input.withUnsafeBufferPointer { input in
      output.withUnsafeMutableBufferPointer {
        pool.maxForward(input.baseAddress.unsafelyUnwrapped, $0.baseAddress.unsafelyUnwrapped)
      }
      upstream.withUnsafeBufferPointer { upstream in
        gradients[0].withUnsafeMutableBufferPointer {
          pool.maxBackward(
            input.baseAddress.unsafelyUnwrapped, upstream.baseAddress.unsafelyUnwrapped,
            $0.baseAddress.unsafelyUnwrapped)
        }
        gradients[1].withUnsafeMutableBufferPointer {
          $0.update(repeating: 0)
          pool.maxBackward2x2(
            input.baseAddress.unsafelyUnwrapped, upstream.baseAddress.unsafelyUnwrapped,
            $0.baseAddress.unsafelyUnwrapped, portable: true)
        }
      }
    }
    var expectedGradient = [Float](repeating: 0, count: input.count)
    for p in 0..<planes {
      for oy in 0..<outHeight {
        for ox in 0..<outWidth {
          let cells = [(0, 0), (0, 1), (1, 0), (1, 1)].map {
            p * height * width + (2 * oy + $0.0) * width + 2 * ox + $0.1
          }
          var first = cells[0]
          for cell in cells.dropFirst() where input[cell] > input[first] { first = cell }
          let out = (p * outHeight + oy) * outWidth + ox
          #expect(output[out].bitPattern == input[first].bitPattern)
          expectedGradient[first] = 0 + upstream[out]
        }
      }
    }
    for gradient in gradients {
      #expect(gradient.map(\.bitPattern) == expectedGradient.map(\.bitPattern))
    }
  }
}
