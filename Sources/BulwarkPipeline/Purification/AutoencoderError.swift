/// An autoencoder stage whose model cannot be used: it cannot be read, it does not reconstruct
/// images of its own input shape, or the images (or their gradient) do not fit it.
public enum AutoencoderError: Error, Equatable, CustomStringConvertible {
  /// The model file could not be read as a Bulwark model.
  case unreadable(file: String, reason: String)
  /// The model's output is not one value per value of its input image.
  case output(file: String, expected: String, found: String)
  /// A batch of images of another shape than the model's input.
  case input(file: String, expected: String, found: String)
  /// A gradient of another size than the images it is for.
  case gradient(expected: Int, found: Int)

  /// A one-line message naming the model file.
  public var description: String {
    switch self {
    case .unreadable(let file, let reason):
      "autoencoder: cannot read the model \(file): \(reason)"
    case .output(let file, let expected, let found):
      "autoencoder: the model \(file) must output \(expected), found \(found)"
    case .input(let file, let expected, let found):
      "autoencoder: the model \(file) takes \(expected) images, found \(found)"
    case .gradient(let expected, let found):
      "autoencoder: expected a gradient of \(expected) values, found \(found)"
    }
  }
}
