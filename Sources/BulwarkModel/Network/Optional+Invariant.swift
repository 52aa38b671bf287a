extension Optional {
  /// The wrapped value, or a trap naming the broken invariant: for values the engine prepared
  /// itself (a batch norm's statistics for each batch-norm stage), never for user input, so a
  /// bug stops the process with a message instead of running on undefined memory.
  /// - Parameter invariant: What should have held, for the trap's message.
  /// - Returns: The wrapped value.
  func invariant(_ invariant: @autoclosure () -> String) -> Wrapped {
    guard let self else { preconditionFailure("engine invariant broken: \(invariant())") }
    return self
  }
}
