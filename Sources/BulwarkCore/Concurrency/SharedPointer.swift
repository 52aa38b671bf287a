/// A pointer handed to worker threads (whose closures are `@Sendable`) that write disjoint
/// ranges of it: the one way Bulwark's parallel loops share a buffer.
package struct SharedPointer<Element>: @unchecked Sendable {
  /// The buffer's first element.
  package let base: UnsafeMutablePointer<Element>

  /// Wraps a pointer.
  /// - Parameter base: The buffer's first element.
  package init(base: UnsafeMutablePointer<Element>) {
    self.base = base
  }

  /// Wraps a read-only pointer (the workers only read through it).
  /// - Parameter base: The buffer's first element.
  package init(reading base: UnsafePointer<Element>) {
    self.base = UnsafeMutablePointer(mutating: base)
  }
}
