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

  /// A small convolutional autoencoder for purification (the encoder-decoder of Meng and Chen
  /// 2017's MagNet, with nearest-neighbour upsampling in the decoder): conv1 C->16 3x3 pad 1,
  /// relu, max pool 2, conv2 16->8 3x3 pad 1, relu, max pool 2, conv3 8->8 3x3 pad 1, relu,
  /// upsample 2, conv4 8->16 3x3 pad 1, relu, upsample 2, conv5 16->C 3x3 pad 1, flatten.
  ///
  /// The variational one (Kingma and Welling 2014) has the same encoder and decoder, but its
  /// bottleneck conv3 8->16 gives 8 channels of means and 8 of log-variances, and a
  /// ``Layer/gaussianSample`` layer instead of the relu makes the decoder's 8-channel code
  /// (sampled in training, the means in evaluation); train it with ``Trainer/klWeight``.
  ///
  /// Its `classes` are the `C x H x W` values of the flattened reconstruction (channels first),
  /// whose sigmoid is the purified image.
  /// - Parameters:
  ///   - input: The image shape; height and width must be multiples of 4.
  ///   - variational: True for a variational autoencoder.
  /// - Returns: The architecture.
  public static func autoencoder(
    input: ImageShape = ImageShape(height: 28, width: 28, channels: 1), variational: Bool = false
  ) -> Architecture {
    let channels = input.channels
    let bottleneck: [Layer] =
      variational
      ? [.conv2d("conv3", 8, 16, kernel: 3, padding: 1), .gaussianSample]
      : [.conv2d("conv3", 8, 8, kernel: 3, padding: 1), .relu]
    return Architecture(
      input: input, classes: input.valueCount,
      layers: [
        .conv2d("conv1", channels, 16, kernel: 3, padding: 1), .relu, .maxPool2d(2),
        .conv2d("conv2", 16, 8, kernel: 3, padding: 1), .relu, .maxPool2d(2),
      ] + bottleneck + [
        .upsample2d(2),
        .conv2d("conv4", 8, 16, kernel: 3, padding: 1), .relu, .upsample2d(2),
        .conv2d("conv5", 16, channels, kernel: 3, padding: 1), .flatten,
      ])
  }
}
