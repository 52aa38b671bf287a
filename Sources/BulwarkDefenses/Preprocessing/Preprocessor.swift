import BulwarkData

/// A defense that transforms images before the classifier sees them (ART's `Preprocessor`).
///
/// A preprocessor maps a batch to a batch of the same shape and leaves labels and class names
/// untouched. For attacks that need gradients through it, `backward(gradient:input:)` gives the
/// backward pass; the default is the identity, Athalye et al. (2018)'s backward-pass
/// differentiable approximation (BPDA), as in ART.
///
/// When stages are chained, each stage's backward step must receive that stage's own input, not
/// the chain's (ART's issue 485 passed the chain's input to every stage); `PreprocessorChain`
/// does this.
public protocol Preprocessor: PipelineStage {
  /// Applies the defense to every image of `batch`.
  /// - Parameter batch: Images, NHWC.
  /// - Returns: A batch of the same shape, labels and class names.
  /// - Throws: An error if the batch does not suit the defense.
  func process(_ batch: ImageBatch) throws -> ImageBatch

  /// Whether the defense draws random numbers (with its own seed), so that two runs with
  /// different seeds may differ.
  var isRandomized: Bool { get }

  /// The backward pass: the gradient of a loss with respect to this stage's input, given its
  /// gradient with respect to this stage's output.
  /// - Parameters:
  ///   - gradient: The gradient with respect to the output, one value per pixel value.
  ///   - input: This stage's own input (for a stage inside a chain, the previous stage's output).
  /// - Returns: The gradient with respect to `input`.
  /// - Throws: An error if the forward pass needed to compute it fails.
  func backward(gradient: [Float], input: ImageBatch) throws -> [Float]

  /// The same defense with its random draws for classifier pass `pass` of a multi-pass
  /// feature extraction (see `FittedPostprocessor`): a randomised defense derives a different
  /// seed for every pass, reproducibly; a deterministic one returns itself.
  /// - Parameter pass: The pass's index, from 0; pass 0 is the defense as configured.
  /// - Returns: The defense for that pass.
  func reseeded(pass: Int) -> any Preprocessor

  /// What the defense costs per image, in forward passes of a small CNN (LeNet-5 on a 28x28
  /// image, about 30 microseconds on one core): an estimate that work is balanced by, such as
  /// the tuner's partition of a grid among the shards of a cluster job. Default 1.
  var relativeCost: Double { get }
}

extension Preprocessor {
  /// False: most defenses draw no random numbers.
  public var isRandomized: Bool { false }

  /// BPDA: the identity, as if the defense were not there (ART's default).
  /// - Parameters:
  ///   - gradient: The gradient with respect to the output.
  ///   - input: This stage's input (unused).
  /// - Returns: `gradient`, unchanged.
  public func backward(gradient: [Float], input: ImageBatch) -> [Float] {
    gradient
  }

  /// Itself: a deterministic defense draws nothing.
  /// - Parameter pass: The pass's index (unused).
  /// - Returns: `self`.
  public func reseeded(pass: Int) -> any Preprocessor { self }

  /// 1: as much as a small CNN's forward pass, for a defense that gives no estimate.
  public var relativeCost: Double { 1 }
}
