// libFuzzer's entry points, compiled only into the fuzzing build (`.ci/fuzz` passes
// `-DBULWARK_FUZZING` with `--sanitize fuzzer`), where libFuzzer's own `main` drives them.
#if BULWARK_FUZZING
  import BulwarkFuzzing
  import Foundation

  /// The environment variable that names the target: `BULWARK_FUZZ_TARGET=npz`.
  let targetVariable = "BULWARK_FUZZ_TARGET"

  /// The target this process fuzzes, read once from the environment.
  let selectedTarget: FuzzTarget = {
    let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
    guard let name = ProcessInfo.processInfo.environment[targetVariable],
      let target = FuzzTarget(rawValue: name)
    else {
      let message = "bulwark-fuzz: set \(targetVariable) to one of \(names)\n"
      FileHandle.standardError.write(Data(message.utf8))
      exit(2)
    }
    return target
  }()

  /// Called by libFuzzer once before the first input: checks the target name so that a bad one
  /// stops the run at once.
  @_cdecl("LLVMFuzzerInitialize")
  func initialize(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
  ) -> CInt {
    _ = selectedTarget
    return 0
  }

  /// Called by libFuzzer for every input.
  @_cdecl("LLVMFuzzerTestOneInput")
  func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    // A thrown error is the reader refusing malformed input: not a finding.
    try? selectedTarget.run(on: bytes)
    return 0
  }
#endif
