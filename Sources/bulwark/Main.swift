import BulwarkCLI

/// The `bulwark` command-line tool; all of its work is in `BulwarkCLI`.
@main
struct Main {
  static func main() {
    BulwarkCommand.main()
  }
}
