import BulwarkCore
import Foundation

/// The latent code of a variational autoencoder for a chunk of images (Kingma and Welling 2014,
/// the reparameterisation trick): each image's input is `latent` means `mu` then `latent`
/// log-variances `logvar` (the two halves of its channels-first values), its output `latent`
/// values, `mu + exp(logvar / 2) * eps` in training mode and `mu` in evaluation mode.
///
/// The noise `eps` of an image comes from its own stream of the mode's seed (per stage and batch
/// index, as dropout's masks), so it does not depend on chunking or threads, and the backward
/// pass draws it again instead of storing it.
struct GaussianSample {
  /// Latent values per image: half the input's values.
  var latent: Int
  var count: Int
  /// The batch index of the chunk's first image.
  var firstImage: Int
  /// The stage's index in the network, which selects its noise streams.
  var stage: Int
  var mode: Network.Mode

  /// The sampling of `count` images through `stage`, the `index`-th stage, the first being
  /// image `firstImage` of the batch.
  init(_ stage: Stage, index: Int, count: Int, firstImage: Int, mode: Network.Mode) {
    latent = stage.output.count
    self.count = count
    self.firstImage = firstImage
    self.stage = index
    self.mode = mode
  }

  /// Writes each image's latent code: sampled in training mode, the means in evaluation mode.
  func forward(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>) {
    for image in 0..<count {
      let means = input + image &* 2 &* latent
      let logVariances = means + latent
      let codes = output + image &* latent
      guard var noise = noise(image: image) else {
        codes.update(from: means, count: latent)
        continue
      }
      for index in 0..<latent {
        codes[index] =
          means[index] + exp(logVariances[index] / 2) * Float(noise.gaussian())
      }
    }
  }

  /// The chunk's KL divergence of each image's Gaussian `N(mu, exp(logvar))` from `N(0, I)`,
  /// `-0.5 Σ (1 + logvar - mu² - exp(logvar))` over its latent values, summed over the images.
  func divergence(_ input: UnsafePointer<Float>) -> Double {
    var total = 0.0
    for image in 0..<count {
      let means = input + image &* 2 &* latent
      let logVariances = means + latent
      for index in 0..<latent {
        let mean = Double(means[index])
        let logVariance = Double(logVariances[index])
        total -= 0.5 * (1 + logVariance - mean * mean - exp(logVariance))
      }
    }
    return total
  }

  /// The gradient on the means and log-variances from the gradient on the codes: the means
  /// receive it unchanged; the log-variances receive `upstream * exp(logvar / 2) * eps / 2` in
  /// training mode and nothing in evaluation mode. A nonzero `divergenceScale` adds that
  /// multiple of the KL divergence's gradient, `mu` on a mean and `(exp(logvar) - 1) / 2` on a
  /// log-variance.
  func backward(
    _ input: UnsafePointer<Float>, _ upstream: UnsafePointer<Float>,
    _ downstream: UnsafeMutablePointer<Float>, divergenceScale: Float
  ) {
    for image in 0..<count {
      let means = input + image &* 2 &* latent
      let logVariances = means + latent
      let codeGradient = upstream + image &* latent
      let meanGradient = downstream + image &* 2 &* latent
      let logVarianceGradient = meanGradient + latent
      meanGradient.update(from: codeGradient, count: latent)
      if var noise = noise(image: image) {
        for index in 0..<latent {
          logVarianceGradient[index] =
            codeGradient[index] * exp(logVariances[index] / 2) * Float(noise.gaussian()) / 2
        }
      } else {
        logVarianceGradient.update(repeating: 0, count: latent)
      }
      guard divergenceScale != 0 else { continue }
      for index in 0..<latent {
        meanGradient[index] += divergenceScale * means[index]
        logVarianceGradient[index] += divergenceScale * (exp(logVariances[index]) - 1) / 2
      }
    }
  }

  /// The noise stream of the chunk's image `image` in training mode; nil in evaluation mode.
  private func noise(image: Int) -> SeededGenerator? {
    guard case .training(let seed) = mode else { return nil }
    return Network.trainingStream(seed: seed, stage: stage, image: firstImage + image)
  }
}
