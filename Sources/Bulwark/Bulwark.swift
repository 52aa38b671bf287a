// One import for users: `import Bulwark` brings every layer.
@_exported import BulwarkCLI
@_exported import BulwarkData
@_exported import BulwarkModel
