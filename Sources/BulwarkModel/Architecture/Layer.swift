/// One layer of an ``Architecture``: its PyTorch module name and what it computes.
///
/// Layers with parameters carry the name of the PyTorch module that holds them (`conv1`, `bn1`,
/// `fc3`), so their tensors are `conv1.weight`, `conv1.bias`, … as in a `state_dict`.
/// Parameterless layers may stay unnamed.
public struct Layer: Equatable, Sendable {
  /// The PyTorch module name; nil for an unnamed parameterless layer.
  public var name: String?
  /// What the layer computes.
  public var kind: Kind

  /// What a layer computes. Kernels, strides and paddings are square, as in most CNNs.
  public enum Kind: Equatable, Sendable {
    /// 2-D convolution (PyTorch `Conv2d`), weight `out x in/groups x kernel x kernel`, bias `out`.
    case conv2d(
      inChannels: Int, outChannels: Int, kernel: Int, stride: Int, padding: Int, groups: Int)
    /// Max pooling (PyTorch `MaxPool2d`, no padding, floor mode).
    case maxPool2d(kernel: Int, stride: Int)
    /// Average pooling (PyTorch `AvgPool2d`, no padding, floor mode).
    case avgPool2d(kernel: Int, stride: Int)
    /// Mean over height and width, leaving `channels x 1 x 1`
    /// (PyTorch `AdaptiveAvgPool2d(1)`).
    case globalAvgPool
    /// Nearest-neighbour upsampling by an integer factor over height and width (PyTorch
    /// `Upsample(scale_factor: factor, mode: "nearest")`): every value becomes a
    /// `factor x factor` block.
    case upsample2d(factor: Int)
    /// Fully connected layer (PyTorch `Linear`) on a flat input, weight `out x in`, bias `out`.
    case linear(inFeatures: Int, outFeatures: Int)
    /// `max(x, 0)`.
    case relu
    /// Flattens `channels x height x width` to a vector in that order (PyTorch `Flatten`).
    case flatten
    /// Dropout with probability `p` (PyTorch `Dropout`): the identity in evaluation mode; in
    /// training mode each value is zeroed with probability `p` and the rest are scaled by
    /// `1 / (1 - p)`.
    case dropout(p: Double)
    /// Batch normalisation (PyTorch `BatchNorm2d`): tensors `weight`, `bias`, `running_mean`,
    /// `running_var`, each `features` long. Evaluation mode normalises with the running
    /// statistics; training mode with the batch's, and updates the running ones with momentum
    /// 0.1 (PyTorch's default).
    case batchNorm2d(features: Int, epsilon: Double)
    /// The sampled latent code of a variational autoencoder (Kingma and Welling 2014, the
    /// reparameterisation trick): the input's first half of channels (of values, for a vector)
    /// is the mean `mu`, the second half the log-variance `logvar`, position by position; the
    /// output, half as many channels, is `mu + exp(logvar / 2) * eps` with `eps ~ N(0, 1)` in
    /// training mode (drawn from the mode's seed per layer and image, as dropout's masks) and
    /// `mu` in evaluation mode. Training with ``Trainer/klWeight`` adds the KL divergence of
    /// `N(mu, exp(logvar))` from `N(0, 1)` to the loss.
    case gaussianSample
    /// Softmax over the class axis; allowed only as the last layer. ``Network/logits(_:count:)``
    /// stops before it.
    case softmax
  }

  /// Creates a layer.
  /// - Parameters:
  ///   - name: The PyTorch module name; required for layers with parameters.
  ///   - kind: What the layer computes.
  public init(name: String? = nil, _ kind: Kind) {
    self.name = name
    self.kind = kind
  }

  /// A convolution layer.
  /// - Parameters:
  ///   - name: The PyTorch module name, e.g. `conv1`.
  ///   - inChannels: Input channels.
  ///   - outChannels: Output channels (filters).
  ///   - kernel: Kernel height and width.
  ///   - stride: Step between windows.
  ///   - padding: Zero padding on every side.
  ///   - groups: Channel groups; both channel counts must be multiples of it.
  /// - Returns: The layer.
  public static func conv2d(
    _ name: String, _ inChannels: Int, _ outChannels: Int, kernel: Int, stride: Int = 1,
    padding: Int = 0, groups: Int = 1
  ) -> Layer {
    Layer(
      name: name,
      .conv2d(
        inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
        padding: padding, groups: groups))
  }

  /// A fully connected layer.
  /// - Parameters:
  ///   - name: The PyTorch module name, e.g. `fc1`.
  ///   - inFeatures: Input width.
  ///   - outFeatures: Output width.
  /// - Returns: The layer.
  public static func linear(_ name: String, _ inFeatures: Int, _ outFeatures: Int) -> Layer {
    Layer(name: name, .linear(inFeatures: inFeatures, outFeatures: outFeatures))
  }

  /// A batch normalisation layer with PyTorch's default epsilon 1e-5.
  /// - Parameters:
  ///   - name: The PyTorch module name, e.g. `bn1`.
  ///   - features: Channels.
  /// - Returns: The layer.
  public static func batchNorm2d(_ name: String, _ features: Int) -> Layer {
    Layer(name: name, .batchNorm2d(features: features, epsilon: 1e-5))
  }

  /// Max pooling; the stride defaults to the kernel, as in PyTorch.
  /// - Parameters:
  ///   - kernel: Window height and width.
  ///   - stride: Step between windows; nil for the kernel size.
  /// - Returns: The layer.
  public static func maxPool2d(_ kernel: Int, stride: Int? = nil) -> Layer {
    Layer(.maxPool2d(kernel: kernel, stride: stride ?? kernel))
  }

  /// Average pooling; the stride defaults to the kernel, as in PyTorch.
  /// - Parameters:
  ///   - kernel: Window height and width.
  ///   - stride: Step between windows; nil for the kernel size.
  /// - Returns: The layer.
  public static func avgPool2d(_ kernel: Int, stride: Int? = nil) -> Layer {
    Layer(.avgPool2d(kernel: kernel, stride: stride ?? kernel))
  }

  /// Nearest-neighbour upsampling (PyTorch `Upsample(scale_factor, mode="nearest")`).
  /// - Parameter factor: How many times taller and wider the output is.
  /// - Returns: The layer.
  public static func upsample2d(_ factor: Int) -> Layer { Layer(.upsample2d(factor: factor)) }

  /// Dropout (PyTorch `Dropout`), active in training mode only.
  /// - Parameter p: The probability of zeroing a value, in [0, 1).
  /// - Returns: The layer.
  public static func dropout(_ p: Double) -> Layer { Layer(.dropout(p: p)) }

  /// `max(x, 0)`.
  public static let relu = Layer(.relu)
  /// Flattens to a vector.
  public static let flatten = Layer(.flatten)
  /// Mean over height and width.
  public static let globalAvgPool = Layer(.globalAvgPool)
  /// The sampled latent code of a variational autoencoder: means and log-variances in, a
  /// sample (training) or the means (evaluation) out.
  public static let gaussianSample = Layer(.gaussianSample)
  /// Softmax over the classes; last layer only.
  public static let softmax = Layer(.softmax)
}
