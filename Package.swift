// swift-tools-version: 6.2
// Bulwark: defends a frozen image classifier against adversarial examples with declarative
// pipelines of pre- and postprocessors. No package dependencies; system C libraries only.
import PackageDescription

let package = Package(
  name: "Bulwark",
  products: [
    // One library per layer, and the umbrella that re-exports them all.
    .library(name: "Bulwark", targets: ["Bulwark"]),
    .library(name: "BulwarkCore", targets: ["BulwarkCore"]),
    .library(name: "BulwarkData", targets: ["BulwarkData"]),
    .library(name: "BulwarkModel", targets: ["BulwarkModel"]),
    .library(name: "BulwarkBoosting", targets: ["BulwarkBoosting"]),
    .library(name: "BulwarkDefenses", targets: ["BulwarkDefenses"]),
    .library(name: "BulwarkPipeline", targets: ["BulwarkPipeline"]),
    // The command line, and the library a user's own `@main` runs it from.
    .executable(name: "bulwark", targets: ["bulwark"]),
    .library(name: "BulwarkCLI", targets: ["BulwarkCLI"]),
    .plugin(name: "BulwarkPlugin", targets: ["BulwarkPlugin"]),
  ],
  targets: [
    // MARK: C libraries from the system (Debian: libjpeg-dev, libpng-dev, zlib1g-dev)
    .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
    .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
    // libjpeg's setjmp/longjmp error path stays in C.
    .target(name: "CJPEGShims", dependencies: ["CJPEG"]),
    // Our C kernels: the AVX2 + FMA matrix multiply and the float32 postprocessors, each with a
    // variant chosen at run time.
    .target(name: "CBulwarkKernels"),

    // MARK: Layers, data flowing one way
    // The seeded generator, the parallel loop and the small pieces every layer shares.
    .target(name: "BulwarkCore"),
    .target(
      name: "BulwarkData",
      dependencies: ["BulwarkCore", "CJPEG", "CJPEGShims", "CPNG", "CZlib"]
    ),
    .target(
      name: "BulwarkModel", dependencies: ["BulwarkCore", "BulwarkData", "CBulwarkKernels"]),
    // Gradient-boosted trees, LightGBM-faithful; depends on nothing of ours but the core.
    .target(name: "BulwarkBoosting", dependencies: ["BulwarkCore"]),
    .target(
      name: "BulwarkDefenses",
      dependencies: ["BulwarkCore", "BulwarkData", "BulwarkBoosting", "CBulwarkKernels"]),
    .target(
      name: "BulwarkPipeline",
      dependencies: [
        "BulwarkCore", "BulwarkData", "BulwarkModel", "BulwarkBoosting", "BulwarkDefenses",
      ]
    ),
    .target(
      name: "Bulwark",
      dependencies: [
        "BulwarkCore", "BulwarkData", "BulwarkModel", "BulwarkBoosting", "BulwarkDefenses",
        "BulwarkPipeline",
      ]
    ),

    // MARK: Command line
    .target(name: "BulwarkCLI", dependencies: ["Bulwark"]),
    .executableTarget(name: "bulwark", dependencies: ["BulwarkCLI"]),

    // MARK: Example: the full CLI with defenses of the user's own (not a product)
    .executableTarget(
      name: "bulwark-example", dependencies: ["Bulwark", "BulwarkCLI"],
      path: "Sources/BulwarkExample"),

    // MARK: Fuzzing (not a product): `.ci/fuzz` builds `bulwark-fuzz` with libFuzzer and
    // AddressSanitizer; without them it replays saved inputs.
    .target(
      name: "BulwarkFuzzing",
      dependencies: [
        "BulwarkData", "BulwarkModel", "BulwarkBoosting", "BulwarkDefenses", "BulwarkPipeline",
      ]
    ),
    .executableTarget(
      name: "bulwark-fuzz", dependencies: ["BulwarkFuzzing"], path: "Sources/BulwarkFuzz"),

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
    // Closeness checks that point at their caller, and scratch folders.
    .target(name: "BulwarkTestSupport", path: "Tests/BulwarkTestSupport"),
    .testTarget(name: "BulwarkCoreTests", dependencies: ["BulwarkTestSupport", "BulwarkCore"]),
    .testTarget(
      name: "BulwarkDataTests",
      dependencies: ["BulwarkTestSupport", "BulwarkCore", "BulwarkData"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "BulwarkModelTests",
      dependencies: ["BulwarkTestSupport", "BulwarkCore", "BulwarkModel"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "BulwarkBoostingTests",
      dependencies: ["BulwarkTestSupport", "BulwarkCore", "BulwarkBoosting"],
      resources: [.copy("Fixtures")]
    ),
    .testTarget(
      name: "BulwarkCLITests",
      // The executables are dependencies so that end-to-end tests can run the built binaries.
      dependencies: [
        "BulwarkTestSupport",
        "BulwarkCLI", "BulwarkCore", "BulwarkData", "BulwarkModel", "bulwark", "bulwark-example",
      ]
    ),
    .testTarget(
      name: "BulwarkDefensesTests",
      dependencies: ["BulwarkTestSupport", "BulwarkCore", "BulwarkDefenses", "BulwarkBoosting"]),
    .testTarget(
      name: "BulwarkFuzzingTests",
      dependencies: [
        "BulwarkFuzzing", "BulwarkData", "BulwarkModel", "BulwarkBoosting", "BulwarkPipeline",
      ],
      // The seed inputs and every input the fuzzer found a bug with, replayed by the tests;
      // the dictionaries are for libFuzzer only.
      exclude: ["Dictionaries"],
      resources: [.copy("Corpus"), .copy("Regressions")]
    ),
    .testTarget(
      name: "BulwarkPipelineTests",
      dependencies: [
        "BulwarkTestSupport",
        "BulwarkCore", "BulwarkPipeline", "BulwarkData", "BulwarkModel", "BulwarkDefenses",
      ]
    ),
  ]
)
