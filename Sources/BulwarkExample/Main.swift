import Bulwark

/// `bulwark-example`: the whole `bulwark` command line with one defense of its own,
/// `gaussian-blur`, as a user's package would write it.
@main
struct Main {
  static func main() {
    BulwarkCommand.main(registering: [GaussianBlur.self])
  }
}
