import Foundation

/// How a ``Network`` spreads its work: the number of threads. Results are bit-identical for
/// every thread count, because images are processed in fixed chunks and reduced in order.
public struct ComputeOptions: Equatable, Sendable {
  /// Worker threads, at least 1.
  public var threads: Int

  /// Creates options.
  /// - Parameter threads: Worker threads; nil for every active core.
  public init(threads: Int? = nil) {
    self.threads = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
  }
}
