extension Duration {
  /// The duration in seconds, as a `Double` (attosecond precision down to the double's).
  package var inSeconds: Double {
    Double(components.seconds) + Double(components.attoseconds) * 1e-18
  }
}
