import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkCLI

@Suite struct CommandLineTests {
  private func run(_ arguments: [String]) -> (ExitCode, CapturedConsole) {
    let captured = CapturedConsole()
    return (BulwarkCommand.run(arguments, console: captured.console), captured)
  }

  @Test(arguments: [
    [], ["--help"], ["data"], ["data", "--help"], ["data", "info", "--help"],
    ["data", "convert", "-h"], ["help"],
  ])
  func helpIsCompleteAndSucceeds(arguments: [String]) {
    let (status, captured) = run(arguments)
    #expect(status == .success)
    #expect(captured.standardOutput.contains("OVERVIEW:"))
    #expect(captured.standardOutput.contains("USAGE: bulwark"))
    #expect(captured.standardOutput.contains("--help"))
  }

  @Test func convertHelpListsEveryOptionWithItsDefault() {
    let (_, captured) = run(["data", "convert", "--help"])
    let help = captured.standardOutput
    for option in [
      "SOURCE", "--labels <FILE>", "--out <FILE.npz|DIR>", "--limit <N>",
      "--sample <N>", "--seed <S>", "--compress", "--json",
    ] {
      #expect(help.contains(option), "missing \(option)")
    }
    #expect(help.contains("(default: 0)"))
    #expect(help.contains("USAGE: bulwark data convert SOURCE [--labels FILE] --out FILE.npz|DIR"))
  }

  /// Discussion paragraphs wrap, but the lines of a list keep their layout.
  @Test func helpKeepsParagraphsAndListLines() {
    let (_, captured) = run(["train", "--help"])
    let lines = captured.standardOutput.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.contains { $0.hasPrefix("  pgd      Madry et al. 2018") })
    #expect(lines.contains { $0.hasPrefix("  trades   Zhang et al. 2019") })
    #expect(
      lines.contains { $0.hasPrefix("Steps run in training mode: batch normalisation normalises") })
    #expect(lines.contains { $0.hasPrefix("--variational makes it a variational autoencoder") })
    #expect(
      lines.allSatisfy { $0.count <= 80 || $0.hasPrefix("OVERVIEW") || $0.hasPrefix("USAGE") })
  }

  @Test(arguments: [
    (["data", "inf", "x"], "unknown command 'inf'; did you mean 'info'?"),
    (["data", "info"], "missing SOURCE"),
    (["data", "info", "x", "--jsn"], "unknown option '--jsn'; did you mean '--json'?"),
    (["data", "convert", "x"], "missing --out FILE.npz|DIR"),
    (["data", "convert", "x", "--out", "y.npz", "--limit", "ten"], "--limit expects an integer"),
    (["data", "convert", "x", "--out", "y.npz", "--limit", "0"], "--limit must be in 1 or more"),
    (["data", "convert", "x", "--out", "y.npz", "--limit", "1", "--sample", "1"], "not both"),
    (["data", "convert", "x", "--out"], "'--out' needs a value"),
    (["data", "info", "x", "y"], "unexpected argument 'y'"),
    (["data", "info", "x", "--json", "--json"], "more than once"),
    (["data", "info", "x", "--json=yes"], "takes no value"),
    (
      ["train", "--arch", "lenet5", "--data", "x", "--epochs", "1", "--out", "y", "--variational"],
      "--variational applies only to --arch autoencoder, not lenet5"
    ),
    (
      [
        "train", "--arch", "autoencoder", "--data", "x", "--epochs", "1", "--out", "y",
        "--kl-weight", "2",
      ],
      "--kl-weight applies only with --variational"
    ),
    (
      [
        "train", "--arch", "autoencoder", "--data", "x", "--epochs", "1", "--out", "y",
        "--variational", "--kl-weight", "-1",
      ],
      "--kl-weight must be in 0"
    ),
  ])
  func usageErrorsExitTwoWithAMessage(arguments: [String], message: String) {
    let (status, captured) = run(arguments)
    #expect(status == .usage)
    #expect(captured.standardError.contains(message), "\(captured.standardError)")
    #expect(captured.standardError.contains("--help"))
    #expect(captured.standardOutput.isEmpty)
  }

  @Test func failuresExitOneWithTheReason() {
    let (status, captured) = run(["data", "info", "/nonexistent/set.npz"])
    #expect(status == .failure)
    #expect(captured.standardError.contains("/nonexistent/set.npz: no such file or folder"))
  }

  @Test func optionValuesMayFollowAnEqualsSign() throws {
    let scratch = try ScratchFolder("bulwark-cli")
    let folder = scratch.url("absent")
    let (status, captured) = run(["data", "info", "--labels=x", folder.path])
    #expect(status == .failure)
    #expect(captured.standardError.contains("no such file or folder"))
  }
}
