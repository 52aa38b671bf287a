import BulwarkData

extension Architecture {
  /// LeNet-5 for 28x28 grey images (LeCun et al. 1998, with ReLU and max pooling): conv1 1->6
  /// 5x5 pad 2, relu, max pool 2, conv2 6->16 5x5, relu, max pool 2, flatten, fc1 400->120,
  /// relu, fc2 120->84, relu, fc3 84->classes.
  /// - Parameter classes: The number of classes.
  /// - Returns: The architecture.
  public static func lenet5(classes: Int = 10) -> Architecture {
    Architecture(
      input: ImageShape(height: 28, width: 28, channels: 1), classes: classes,
      layers: [
        .conv2d("conv1", 1, 6, kernel: 5, padding: 2), .relu, .maxPool2d(2),
        .conv2d("conv2", 6, 16, kernel: 5), .relu, .maxPool2d(2),
        .flatten,
        .linear("fc1", 400, 120), .relu,
        .linear("fc2", 120, 84), .relu,
        .linear("fc3", 84, classes),
      ])
  }

  /// The small RGB CNN of the model-formats spec for 64x64 colour images: three blocks of
  /// [conv 3x3 pad 1 (32, 64, 128 filters), batch norm, relu, max pool 2], global average
  /// pooling, flatten, fc 128->classes.
  /// - Parameter classes: The number of classes.
  /// - Returns: The architecture.
  public static func rgbCNN(classes: Int = 10) -> Architecture {
    var layers: [Layer] = []
    var channels = 3
    for (index, width) in [32, 64, 128].enumerated() {
      layers += [
        .conv2d("conv\(index + 1)", channels, width, kernel: 3, padding: 1),
        .batchNorm2d("bn\(index + 1)", width), .relu, .maxPool2d(2),
      ]
      channels = width
    }
    layers += [.globalAvgPool, .flatten, .linear("fc", channels, classes)]
    return Architecture(
      input: ImageShape(height: 64, width: 64, channels: 3), classes: classes, layers: layers)
  }
}
