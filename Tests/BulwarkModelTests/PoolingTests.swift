import BulwarkCore
import Testing

@testable import BulwarkModel

/// Max pooling's 2x2, stride 2 paths against a plain reading of the definition: the maximum of
/// each window, and its gradient routed to the window's first maximum in row-major order
/// (PyTorch's rule for finite values), on values with many ties; a NaN is passed over unless it
/// is the first cell of both the window and its row pair.
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
    // A NaN first in a window's lower pair hides the pair (its right cell is greater than the
    // upper pair's maximum, yet the window keeps the upper one).
    input[width + 2] = .nan
    input[width + 3] = 9
    input[0] = .nan
    let outputs = planes * outHeight * outWidth
    // Gradients of both signs, and a negative zero (routed as +0).
    var upstream = (0..<outputs).map { (index: Int) -> Float in
      index % 2 == 0 ? Float(index + 1) : -Float(index)
    }
    upstream[2] = -0.0
    var output = [Float](repeating: .nan, count: outputs)
    var portableOutput = output
    var gradients = [[Float]](repeating: [Float](repeating: .nan, count: input.count), count: 2)
    input.withUnsafeBufferPointer { input in
      output.withUnsafeMutableBufferPointer {
        pool.maxForward(input.baseAddress.unsafelyUnwrapped, $0.baseAddress.unsafelyUnwrapped)
      }
      portableOutput.withUnsafeMutableBufferPointer {
        pool.maxForward(
          input.baseAddress.unsafelyUnwrapped, $0.baseAddress.unsafelyUnwrapped, portable: true)
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
          let upper = input[cells[1]] > input[cells[0]] ? cells[1] : cells[0]
          let lower = input[cells[3]] > input[cells[2]] ? cells[3] : cells[2]
          let first = input[lower] > input[upper] ? lower : upper
          let out = (p * outHeight + oy) * outWidth + ox
          #expect(output[out].bitPattern == input[first].bitPattern)
          expectedGradient[first] = 0 + upstream[out]
        }
      }
    }
    #expect(portableOutput.map(\.bitPattern) == output.map(\.bitPattern))
    #expect(output[0].isNaN && output[1] != 9)
    for gradient in gradients {
      #expect(gradient.map(\.bitPattern) == expectedGradient.map(\.bitPattern))
    }
  }

  /// The forward kernel on padded, strided and dilated windows (ResNet's 3x3 stride 2 pad 1,
  /// on a plane of odd size and on one of twice its output, 16 windows a row, which takes
  /// eight windows per step; a dilated one, a stride of 3, and padding wide enough for windows
  /// wholly outside the plane), both variants, against the first maximum in row-major order
  /// among each window's cells inside the plane: a NaN wins only as a window's first such
  /// cell, +0 and -0 keep the first of the tie, and a window with no such cell gives 0.
  @Test(arguments: [
    (3, 1, 2, 1, 7, 9), (3, 1, 2, 1, 6, 32), (3, 2, 1, 2, 9, 8), (2, 0, 3, 1, 10, 11),
    (2, 3, 2, 1, 5, 6),
  ])
  func anyWindowTakesTheFirstMaximumInsideThePlane(
    kernel: Int, pad: Int, stride: Int, dilation: Int, height: Int, width: Int
  ) {
    let planes = 3
    let extent = { (size: Int) in (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1 }
    let pool = Pooling(
      planes: planes, inHeight: height, inWidth: width, outHeight: extent(height),
      outWidth: extent(width), kernelHeight: kernel, kernelWidth: kernel, strideY: stride,
      strideX: stride, pads: [pad, pad, pad, pad], dilationY: dilation, dilationX: dilation,
      countIncludePad: false)
    var generator = SeededGenerator(seed: 5)
    var input = (0..<(planes * height * width)).map { _ in
      Float(Int(generator.unitDouble() * 4)) - 2
    }
    for index in stride..<input.count where index % 11 == 0 { input[index] = .nan }
    // The first cell inside the plane of a first column's window (row 1 is a window's first row
    // whenever the padding reaches above it).
    input[width] = .nan
    for index in 0..<input.count where input[index] == 0 && index % 2 == 1 { input[index] = -0.0 }
    let count = planes * pool.outHeight * pool.outWidth
    var expected = [Float](repeating: 0, count: count)
    input.withUnsafeBufferPointer { input in
      for p in 0..<planes {
        let plane = input.baseAddress.unsafelyUnwrapped + p * height * width
        for oy in 0..<pool.outHeight {
          for ox in 0..<pool.outWidth {
            let best = pool.checkedArgmax(plane, oy, ox)
            expected[(p * pool.outHeight + oy) * pool.outWidth + ox] = best < 0 ? 0 : plane[best]
          }
        }
      }
    }
    #expect(expected.contains { $0.isNaN })
    for portable in [false, true] {
      var output = [Float](repeating: 7, count: count)
      input.withUnsafeBufferPointer { input in
        output.withUnsafeMutableBufferPointer {
          pool.maxForward(
            input.baseAddress.unsafelyUnwrapped, $0.baseAddress.unsafelyUnwrapped,
            portable: portable)
        }
      }
      #expect(output.map(\.bitPattern) == expected.map(\.bitPattern), "portable: \(portable)")
    }
  }
}
