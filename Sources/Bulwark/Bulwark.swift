// One import for users: `import Bulwark` brings every library layer (not the command line,
// whose `BulwarkCommand.main(registering:)` is in `BulwarkCLI`).
@_exported import BulwarkBoosting
@_exported import BulwarkCore
@_exported import BulwarkData
@_exported import BulwarkDefenses
@_exported import BulwarkModel
@_exported import BulwarkPipeline
