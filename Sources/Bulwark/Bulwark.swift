// One import for users: `import Bulwark` brings every layer.
@_exported import BulwarkBoosting
@_exported import BulwarkCLI
@_exported import BulwarkData
@_exported import BulwarkDefenses
@_exported import BulwarkModel
@_exported import BulwarkPipeline
