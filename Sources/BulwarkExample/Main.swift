import Bulwark
import BulwarkCLI

/// `bulwark-example`: the whole `bulwark` command line with defenses of its own, a preprocessor
/// `gaussian-blur` and a fitted postprocessor `nearest-centroid`, as a user's package
/// would write them.
@main
struct Main {
  static func main() {
    BulwarkCommand.main(registering: [GaussianBlur.self, NearestCentroid.self])
  }
}
