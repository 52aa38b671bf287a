// Without libFuzzer (`swift build`), the executable replays inputs, for reproducing a crash
// in an ordinary debugger build: `swift run bulwark-fuzz npz crash-1a2b…`.
#if !BULWARK_FUZZING
  import BulwarkFuzzing
  import Foundation

  /// Runs each file through a fuzz target's reader and says whether it was read or refused, and
  /// why.
  @main
  struct BulwarkFuzz {
    static func main() {
      let arguments = CommandLine.arguments.dropFirst()
      let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
      guard let name = arguments.first, let target = FuzzTarget(rawValue: name),
        arguments.count > 1
      else {
        let usage = """
          usage: bulwark-fuzz TARGET FILE...
            Runs each FILE through TARGET's reader (\(names)).
            To fuzz, build with libFuzzer and AddressSanitizer: .ci/fuzz --help

          """
        FileHandle.standardError.write(Data(usage.utf8))
        exit(2)
      }
      for path in arguments.dropFirst() {
        guard let data = FileManager.default.contents(atPath: path) else {
          FileHandle.standardError.write(Data("bulwark-fuzz: \(path): cannot read it\n".utf8))
          exit(1)
        }
        do {
          try target.run(on: [UInt8](data))
          print("\(path): read")
        } catch {
          print("\(path): refused: \(error)")
        }
      }
    }
  }
#endif
