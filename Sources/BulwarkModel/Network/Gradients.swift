/// The result of a backward pass: the loss, the logits it came from, and the gradients of the
/// loss with respect to the input images and to every parameter.
public struct Gradients: Sendable {
  /// The mean loss over the batch: the cross-entropy, plus the weighted KL term of a
  /// variational autoencoder's sampling layers (0 when the gradient came from the caller and
  /// there is no such term).
  public var loss: Double
  /// `count x classes` logits of the forward pass, row-major.
  public var logits: [Float]
  /// The gradient with respect to the input, NHWC like the images.
  public var input: [Float]
  /// In training mode, each batch-norm layer's batch mean and unbiased variance under the
  /// names of the running statistics they update (`bn1.running_mean`, `bn1.running_var`);
  /// empty in evaluation mode. ``Network/updateRunningStatistics(with:momentum:)`` applies them.
  public var batchStatistics: [String: [Float]] = [:]
  /// Parameter gradients, flat in `state_dict` order; empty when not requested.
  var flatParameters: [Float]
  let tensors: [ParameterTensor]

  /// The gradient of each parameter tensor by `state_dict` name; empty when not requested.
  public var parameters: [String: [Float]] {
    guard !flatParameters.isEmpty else { return [:] }
    return Dictionary(
      uniqueKeysWithValues: tensors.map { ($0.name, Array(flatParameters[$0.range])) })
  }

  /// The gradient of one parameter tensor.
  /// - Parameter name: The `state_dict` name.
  /// - Returns: Its values, or nil for an unknown name or when not requested.
  public func parameter(named name: String) -> [Float]? {
    guard !flatParameters.isEmpty else { return nil }
    return tensors.first { $0.name == name }.map { Array(flatParameters[$0.range]) }
  }
}
