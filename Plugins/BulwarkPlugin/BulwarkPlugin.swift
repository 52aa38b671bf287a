import Foundation
import PackagePlugin

/// `swift package bulwark …`: runs the `bulwark` tool from a package that depends on Bulwark,
/// so users never need to find the built binary.
///
/// Arguments pass through unchanged and the tool runs in the package's folder, so relative
/// paths in pipeline files and on the command line mean what they mean there. Because some
/// commands write files (tune, score's caches, convert), the plugin declares that permission,
/// and SwiftPM asks for it before every command: non-interactive runs pass
/// `--allow-writing-to-package-directory`.
///
/// `--executable NAME` (taken by the plugin, not passed on) builds the package's own
/// executable product NAME instead and runs it: a user's `@main` that calls
/// `BulwarkCommand.main(registering: [MyBlur.self])` then runs with their defenses:
/// `swift package --allow-writing-to-package-directory bulwark --executable my-bulwark score
/// pipelines/x.json5`.
@main
struct BulwarkPlugin: CommandPlugin {
  func performCommand(context: PluginContext, arguments: [String]) async throws {
    var arguments = arguments
    var name = "bulwark"
    let tool: URL
    if let index = arguments.firstIndex(of: "--executable") {
      guard index + 1 < arguments.count else {
        Diagnostics.error("--executable needs the name of an executable product")
        return
      }
      name = arguments[index + 1]
      arguments.removeSubrange(index...(index + 1))
      guard let built = try build(name, in: context) else { return }
      tool = built
    } else {
      tool = try context.tool(named: "bulwark").url
    }
    let process = Process()
    process.executableURL = tool
    process.arguments = arguments
    process.currentDirectoryURL = context.package.directoryURL
    try process.run()
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
      Diagnostics.error(
        "\(name) \(arguments.joined(separator: " ")) exited with status "
          + "\(process.terminationStatus)")
      return
    }
  }

  /// Builds the package's executable product `name` (debug) and returns its file; nil after
  /// reporting a failed build or a product that is not an executable.
  private func build(_ name: String, in context: PluginContext) throws -> URL? {
    let executables = context.package.products(ofType: ExecutableProduct.self).map(\.name)
    guard executables.contains(name) else {
      Diagnostics.error(
        "\(context.package.displayName) has no executable product '\(name)' (it has: "
          + "\(executables.sorted().joined(separator: ", ")))")
      return nil
    }
    let result = try packageManager.build(
      .product(name), parameters: .init(configuration: .debug, logging: .concise))
    guard result.succeeded else {
      Diagnostics.error("building \(name) failed:\n\(result.logText)")
      return nil
    }
    guard let executable = result.builtArtifacts.first(where: { $0.kind == .executable }) else {
      Diagnostics.error("building \(name) produced no executable")
      return nil
    }
    return executable.url
  }
}
