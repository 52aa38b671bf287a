/// Carries raw pointers into `DispatchQueue.concurrentPerform`, whose closure is `@Sendable`;
/// every worker writes a disjoint range.
struct SendableBox<Pointer>: @unchecked Sendable {
  let pointer: Pointer
}
