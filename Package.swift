// swift-tools-version: 6.2
// Bulwark: defends a frozen image classifier against adversarial examples with declarative
// pipelines of pre- and postprocessors. No package dependencies; system C libraries only.
import PackageDescription

let package = Package(
  name: "Bulwark",
  products: [
    .library(name: "Bulwark", targets: ["Bulwark"]),
    .executable(name: "bulwark", targets: ["bulwark"]),
    .executable(name: "bulwark-example", targets: ["bulwark-example"]),
    .plugin(name: "BulwarkPlugin", targets: ["BulwarkPlugin"]),
  ],
  targets: [
    // MARK: C libraries from the system (Debian: libjpeg-dev, libpng-dev, zlib1g-dev)
    .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    // libjpeg's setjmp/longjmp error path stays in C.
    .target(name: "CJPEGShims", dependencies: ["CJPEG"]),
    // The AVX2 + FMA matrix-multiply kernel, chosen at run time.
    .target(name: "CBulwarkKernels"),

    // MARK: Layers, data flowing one way
    .target(
      name: "BulwarkData",
      dependencies: ["CJPEG", "CJPEGShims", "CPNG", "CZlib"]
    ),
    .target(name: "BulwarkModel", dependencies: ["BulwarkData", "CBulwarkKernels"]),
    // Gradient-boosted trees, LightGBM-faithful; depends on nothing of ours.
    .target(name: "BulwarkBoosting"),
    .target(name: "BulwarkDefenses", dependencies: ["BulwarkData", "BulwarkBoosting"]),
    .target(
      name: "BulwarkPipeline",
      dependencies: ["BulwarkData", "BulwarkModel", "BulwarkBoosting", "BulwarkDefenses"]
    ),

    // MARK: Command line
    .target(
      name: "BulwarkCLI",
      dependencies: [
        "BulwarkData", "BulwarkModel", "BulwarkBoosting", "BulwarkDefenses", "BulwarkPipeline",
      ]
    ),
    .executableTarget(name: "bulwark", dependencies: ["BulwarkCLI"]),
    .target(
      name: "Bulwark",
      dependencies: [
        "BulwarkData", "BulwarkModel", "BulwarkBoosting", "BulwarkDefenses", "BulwarkPipeline",
        "BulwarkCLI",
      ]
    ),

    // MARK: Example: the full CLI with a defense of the user's own (`gaussian-blur`)
    .executableTarget(
      name: "bulwark-example", dependencies: ["Bulwark"], path: "Sources/BulwarkExample"),

    // MARK: SwiftPM command plugin: `swift package bulwark …`
    .plugin(
      name: "BulwarkPlugin",
      capability: .command(
        intent: .custom(verb: "bulwark", description: "Run the bulwark command-line tool."),
        permissions: [
          .writeToPackageDirectory(
            reason: "bulwark writes converted data, caches, models and tuner results.")
        ]),
      dependencies: ["bulwark"]),

    // MARK: Tests
    .testTarget(
      name: "BulwarkDataTests",
      dependencies: ["BulwarkData"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(name: "BulwarkModelTests", dependencies: ["BulwarkModel"]),
    .testTarget(
      name: "BulwarkBoostingTests",
      dependencies: ["BulwarkBoosting"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "BulwarkCLITests",
      // The executables are dependencies so that end-to-end tests can run the built binaries.
      dependencies: ["BulwarkCLI", "BulwarkData", "BulwarkModel", "bulwark", "bulwark-example"]
    ),
    .testTarget(
      name: "BulwarkDefensesTests", dependencies: ["BulwarkDefenses", "BulwarkBoosting"]),
    .testTarget(
      name: "BulwarkPipelineTests",
      dependencies: ["BulwarkPipeline", "BulwarkData", "BulwarkModel", "BulwarkDefenses"]
    ),
  ]
)
