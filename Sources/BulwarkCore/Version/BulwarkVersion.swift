/// The version of Bulwark this build is, recorded where results from several runs must agree
/// (the journals of a sharded tune) and printed by `bulwark --version`.
public enum BulwarkVersion {
  /// `major.minor.patch`.
  public static let current = "0.14.0"
}
