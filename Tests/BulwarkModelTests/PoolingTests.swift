import BulwarkCore
import Testing

@testable import BulwarkModel

/// Max pooling's 2x2, stride 2 paths against a plain reading of the definition: the maximum of
/// each window, and its gradient routed to the window's first maximum in row-major order
/// (PyTorch's rule), on values with many ties.
@Suite struct PoolingTests {
  @Test func theTwoByTwoPathsTakeTheFirstMaximum() {
    let (planes, height, width) = (3, 6, 7)  // an odd width: the last column is in no window
    let pool = Pooling(
      planes: planes, inHeight: height, inWidth: width, outHeight: 3, outWidth: 3,
      kernelHeight: 2, kernelWidth: 2, strideY: 2, strideX: 2, pads: [0, 0, 0, 0],
      dilationY: 1, dilationX: 1, countIncludePad: false)
    var generator = SeededGenerator(seed: 3)
    // Three levels only, so most windows hold ties.
    let input = (0..<(planes * height * width)).map { _ in Float(Int(generator.unitDouble() * 3)) }
    let upstream = (0..<(planes * 9)).map { Float($0 + 1) }
    var output = [Float](repeating: .nan, count: planes * 9)
    var gradient = [Float](repeating: .nan, count: input.count)
    input.withUnsafeBufferPointer { input in
      output.withUnsafeMutableBufferPointer {
        pool.maxForward(input.baseAddress.unsafelyUnwrapped, $0.baseAddress.unsafelyUnwrapped)
      }
      upstream.withUnsafeBufferPointer { upstream in
        gradient.withUnsafeMutableBufferPointer {
          pool.maxBackward(
            input.baseAddress.unsafelyUnwrapped, upstream.baseAddress.unsafelyUnwrapped,
            $0.baseAddress.unsafelyUnwrapped)
        }
      }
    }
    var expectedGradient = [Float](repeating: 0, count: input.count)
    for p in 0..<planes {
      for oy in 0..<3 {
        for ox in 0..<3 {
          let cells = [(0, 0), (0, 1), (1, 0), (1, 1)].map {
            p * height * width + (2 * oy + $0.0) * width + 2 * ox + $0.1
          }
          var first = cells[0]
          for cell in cells.dropFirst() where input[cell] > input[first] { first = cell }
          let out = p * 9 + oy * 3 + ox
          #expect(output[out] == input[first])
          expectedGradient[first] = upstream[out]
        }
      }
    }
    #expect(gradient == expectedGradient)
  }
}
