// swift-tools-version: 6.2
// Bulwark: defends a frozen image classifier against adversarial examples with declarative
// pipelines of pre- and postprocessors. No package dependencies; system C libraries only.
import PackageDescription

let package = Package(
  name: "Bulwark",
  products: [
    .library(name: "Bulwark", targets: ["Bulwark"]),
    .executable(name: "bulwark", targets: ["bulwark"]),
  ],
  targets: [
    // MARK: C libraries from the system (Debian: libjpeg-dev, libpng-dev, zlib1g-dev)
    .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    // libjpeg's setjmp/longjmp error path stays in C.
    .target(name: "CJPEGShims", dependencies: ["CJPEG"]),

    // MARK: Layers, data flowing one way
    .target(
      name: "BulwarkData",
      dependencies: ["CJPEG", "CJPEGShims", "CPNG", "CZlib"]
    ),
    .target(name: "BulwarkDefenses", dependencies: ["BulwarkData"]),

    // MARK: Command line
    .target(name: "BulwarkCLI", dependencies: ["BulwarkData"]),
    .executableTarget(name: "bulwark", dependencies: ["BulwarkCLI"]),
    .target(name: "Bulwark", dependencies: ["BulwarkData", "BulwarkCLI"]),

    // MARK: Tests
    .testTarget(
      name: "BulwarkDataTests",
      dependencies: ["BulwarkData"]
    ),
    .testTarget(name: "BulwarkDefensesTests", dependencies: ["BulwarkDefenses"]),
  ]
)
