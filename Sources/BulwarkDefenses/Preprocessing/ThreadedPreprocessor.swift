/// A preprocessor that spreads its images over a settable number of threads (its results never
/// depend on the count); benchmarks set 1 to measure one core.
public protocol ThreadedPreprocessor: Preprocessor {
  /// Threads used by `process`; 1 runs on the calling thread.
  var threadCount: Int { get set }
}

extension SpatialSmoothing: ThreadedPreprocessor {}
extension JPEGCompression: ThreadedPreprocessor {}
extension FeatureSqueezing: ThreadedPreprocessor {}
extension TotalVariationMinimization: ThreadedPreprocessor {}
