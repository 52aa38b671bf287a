import Foundation
import PackagePlugin

/// `swift package bulwark …`: runs the `bulwark` tool from a package that depends on Bulwark,
/// so users never need to find the built binary.
///
/// Arguments pass through unchanged and the tool runs in the package's folder, so relative
/// paths in pipeline files and on the command line mean what they mean there. Commands that
/// write files (tune, score's caches, convert) need `--allow-writing-to-package-directory`.
@main
struct BulwarkPlugin: CommandPlugin {
  func performCommand(context: PluginContext, arguments: [String]) async throws {
    let tool = try context.tool(named: "bulwark")
    let process = Process()
    process.executableURL = tool.url
    process.arguments = arguments
    process.currentDirectoryURL = context.package.directoryURL
    try process.run()
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
      Diagnostics.error(
        "bulwark \(arguments.joined(separator: " ")) exited with status "
          + "\(process.terminationStatus)")
      return
    }
  }
}
