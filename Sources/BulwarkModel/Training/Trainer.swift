import BulwarkCore
import BulwarkData

/// Mini-batch training: shuffles the data with a seed per epoch, then takes one optimiser step
/// per batch, in training mode (batch norm on batch statistics, dropout and sampling active), on
/// the clean images or on adversarial ones made each step against the current weights. The same
/// seed gives the same network whatever the thread count, and epoch `e` shuffles and draws the
/// same way whether or not training was resumed before it.
public struct Trainer: Sendable {
  /// Images per step.
  public var batchSize: Int
  /// The seed of every epoch's shuffle and of every step's random draws.
  public var seed: UInt64
  /// How each step makes adversarial images; nil trains on the clean images.
  public var adversarial: AdversarialTraining?
  /// Class probabilities to learn instead of the labels, one row of the network's classes per
  /// training image (knowledge distillation, the probabilistic CopycatCNN); nil learns the
  /// labels. The labels still give the reported accuracy.
  public var targets: [Float]?
  /// Whether the network learns to reproduce its input instead of classifying it (an
  /// autoencoder, ``Architecture/autoencoder(input:variational:)``): its outputs are the image's
  /// values before a sigmoid, trained with ``ReconstructionLoss``; labels are not used and the
  /// reported accuracy is 0.
  public var reconstructs: Bool
  /// The weight of a variational autoencoder's KL term when reconstructing (beta of Higgins et
  /// al. 2017's beta-VAE; 1 for Kingma and Welling 2014's VAE). For a network with
  /// ``Layer/gaussianSample`` layers each image's loss adds `klWeight` times the KL divergence
  /// of its latent Gaussians from `N(0, I)`, `-0.5 Σ (1 + logvar - mu² - exp(logvar))` over
  /// the latent values, divided by the image's value count: ``ReconstructionLoss`` is a mean
  /// per value, so with weight 1 the loss is the negative evidence lower bound per value. The
  /// reported loss includes the term. Networks without sampling layers have none.
  public var klWeight: Double

  /// Where an epoch stands after a step: the running figures a progress line shows.
  public struct StepProgress: Sendable {
    /// Images done in the epoch.
    public var done: Int
    /// The mean training loss so far.
    public var loss: Double
    /// The fraction of clean images classified correctly so far.
    public var accuracy: Double
    /// The fraction of adversarial images classified correctly so far; nil without
    /// adversarial training.
    public var adversarialAccuracy: Double?
  }

  /// Creates a trainer.
  /// - Parameters:
  ///   - batchSize: Images per step.
  ///   - seed: The seed of the shuffles and of each step's random draws.
  ///   - adversarial: How to make adversarial images; nil for standard training.
  ///   - targets: Class probabilities to learn per training image instead of the labels.
  ///   - reconstructs: True to train an autoencoder to reproduce its input.
  ///   - klWeight: The weight of a variational autoencoder's KL term, finite and >= 0.
  /// - Precondition: `batchSize > 0`.
  public init(
    batchSize: Int = 64, seed: UInt64, adversarial: AdversarialTraining? = nil,
    targets: [Float]? = nil, reconstructs: Bool = false, klWeight: Double = 1
  ) {
    precondition(batchSize > 0, "batch size must be positive")
    self.batchSize = batchSize
    self.seed = seed
    self.adversarial = adversarial
    self.targets = targets
    self.reconstructs = reconstructs
    self.klWeight = klWeight
  }

  /// The order in which epoch `epoch` visits `count` images.
  /// - Parameters:
  ///   - epoch: The epoch's index.
  ///   - count: The number of images.
  /// - Returns: A permutation of `0..<count`.
  public func order(epoch: Int, count: Int) -> [Int] {
    var generator = SeededGenerator(seed: seed, stream: UInt64(epoch))
    var order = Array(0..<count)
    generator.shuffle(&order)
    return order
  }

  /// The seed of step `step` of epoch `epoch`: its dropout masks, its sampling noise and its
  /// attack's random start.
  /// (Its stream never meets an epoch's shuffle stream, which is below 2^32.)
  func stepSeed(epoch: Int, step: Int) -> UInt64 {
    var generator = SeededGenerator(seed: seed, stream: UInt64(epoch + 1) << 32 | UInt64(step))
    return generator.next()
  }

  /// Trains for one epoch over `data`.
  /// - Parameters:
  ///   - epoch: The epoch's index, from 0; selects the shuffle and the steps' seeds.
  ///   - network: The network to train.
  ///   - optimizer: The optimiser, whose state carries over between epochs.
  ///   - data: The training images and labels.
  ///   - progress: Called after each step.
  /// - Returns: Loss, accuracies and speed of the epoch.
  /// - Throws: ``ModelError`` if the data do not fit the network (shape, classes, NaN), the
  ///   adversarial parameters are invalid, the targets are not one row of non-negative
  ///   finite values per image (or come with adversarial training), or a reconstruction's
  ///   network does not output one value per input value (or comes with targets or
  ///   adversarial training, or a KL weight that is negative or not finite).
  public func runEpoch(
    _ epoch: Int, network: inout Network, optimizer: inout some Optimizer, data: ImageBatch,
    progress: ((StepProgress) -> Void)? = nil
  ) throws -> EpochReport {
    try network.checkShape(data)
    try network.checkInput(data.pixels, count: data.count)
    try network.checkLabels(data.labels, count: data.count)
    try adversarial?.check()
    try checkTargets(count: data.count, classes: network.architecture.classes)
    try checkReconstruction(network.architecture)
    let clock = ContinuousClock()
    let start = clock.now
    let order = order(epoch: epoch, count: data.count)
    var totals = StepOutcome()
    var done = 0
    var step = 0
    while done < data.count {
      let rows = order[done..<min(done + batchSize, data.count)]
      let batch = data.selecting(rows)
      let classes = network.architecture.classes
      let batchTargets = targets.map { targets in
        rows.flatMap { targets[$0 * classes..<($0 + 1) * classes] }
      }
      let outcome = try self.step(
        batch, targets: batchTargets, network: &network, optimizer: &optimizer,
        seed: stepSeed(epoch: epoch, step: step))
      totals.add(outcome)
      done += batch.count
      step += 1
      progress?(totals.progress(done: done, adversarial: adversarial != nil))
    }
    let seconds = (clock.now - start).inSeconds
    let figures = totals.progress(done: data.count, adversarial: adversarial != nil)
    return EpochReport(
      epoch: epoch, loss: figures.loss, accuracy: figures.accuracy,
      adversarialAccuracy: figures.adversarialAccuracy,
      imagesPerSecond: seconds > 0 ? Double(data.count) / seconds : 0, seconds: seconds)
  }

  /// What a step learned from, summed over an epoch.
  struct StepOutcome {
    var lossSum = 0.0
    var images = 0
    var cleanCorrect = 0
    var cleanCount = 0
    var adversarialCorrect = 0
    var adversarialCount = 0

    mutating func add(_ other: StepOutcome) {
      lossSum += other.lossSum
      images += other.images
      cleanCorrect += other.cleanCorrect
      cleanCount += other.cleanCount
      adversarialCorrect += other.adversarialCorrect
      adversarialCount += other.adversarialCount
    }

    /// The running figures; the adversarial accuracy only with adversarial training.
    func progress(done: Int, adversarial: Bool) -> StepProgress {
      StepProgress(
        done: done, loss: images > 0 ? lossSum / Double(images) : 0,
        accuracy: cleanCount > 0 ? Double(cleanCorrect) / Double(cleanCount) : 0,
        adversarialAccuracy: adversarial
          ? (adversarialCount > 0 ? Double(adversarialCorrect) / Double(adversarialCount) : 0)
          : nil)
    }
  }

  /// Checks that `targets`, if any, give `classes` non-negative finite values per image and
  /// come without adversarial training.
  private func checkTargets(count: Int, classes: Int) throws {
    guard let targets else { return }
    guard adversarial == nil else {
      throw ModelError(
        field: "targets", expected: "labels with adversarial training",
        found: "target probabilities")
    }
    guard targets.count == count * classes else {
      throw ModelError(
        field: "targets", expected: "\(count * classes) values (\(count) images x \(classes))",
        found: "\(targets.count)")
    }
    if let index = targets.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
      throw ModelError(
        field: "targets[\(index / classes)][\(index % classes)]",
        expected: "a finite probability >= 0", found: "\(targets[index])")
    }
  }

  /// Checks that a reconstruction's network outputs one value per input value, that it comes
  /// without targets or adversarial training, and that its KL weight is finite and >= 0.
  private func checkReconstruction(_ architecture: Architecture) throws {
    guard reconstructs else { return }
    guard targets == nil, adversarial == nil else {
      throw ModelError(
        field: "reconstructs", expected: "no target probabilities or adversarial training",
        found: targets != nil ? "target probabilities" : "adversarial training")
    }
    guard klWeight.isFinite, klWeight >= 0 else {
      throw ModelError(field: "klWeight", expected: "a finite weight >= 0", found: "\(klWeight)")
    }
    guard architecture.classes == architecture.input.valueCount else {
      throw ModelError(
        field: "classes",
        expected: "one output per input value (\(architecture.input.valueCount)) to reconstruct",
        found: "\(architecture.classes)")
    }
  }

  /// One optimiser step on a batch, towards `targets` (its rows) when given.
  func step(
    _ batch: ImageBatch, targets: [Float]? = nil, network: inout Network,
    optimizer: inout some Optimizer, seed: UInt64
  ) throws -> StepOutcome {
    let classes = network.architecture.classes
    func correct(_ logits: [Float], _ labels: some Sequence<Int>) -> Int {
      zip(Network.argmax(logits, classes: classes), labels).count { $0 == $1 }
    }
    // Adversarial examples are made in evaluation mode, before the step's training-mode
    // passes; the attack's draws and the dropout masks come from separate seeds.
    var draws = SeededGenerator(seed: seed)
    let attackSeed = draws.next()
    let training = Network.Mode.training(seed: draws.next())
    var outcome = StepOutcome(images: batch.count)
    var gradients: Gradients
    switch adversarial {
    case nil:
      if reconstructs {
        // Nothing to classify: the accuracy stays 0.
        gradients = try reconstructionGradients(batch, network: network, mode: training)
        break
      }
      if let targets {
        let rowGradient = SoftTargetLoss.rowGradient(
          targets: targets, classes: classes, scale: 1 / Double(batch.count))
        gradients = try network.lossAndGradients(batch, perRow: rowGradient, mode: training)
        gradients.loss = SoftTargetLoss.loss(
          logits: gradients.logits, targets: targets, classes: classes)
      } else {
        gradients = try network.lossAndGradients(batch, mode: training, inputGradient: false)
      }
      outcome.cleanCorrect = correct(gradients.logits, batch.labels)
      outcome.cleanCount = batch.count
    case .pgd(let epsilon, let steps, let stepSize):
      let attack = PGD(epsilon: epsilon, stepSize: stepSize, steps: steps, seed: attackSeed)
      gradients = try trainOn(attack, batch, network: network, mode: training, outcome: &outcome)
    case .fgsmRandomStart(let epsilon, let stepSize):
      let attack = PGD(epsilon: epsilon, stepSize: stepSize, steps: 1, seed: attackSeed)
      gradients = try trainOn(attack, batch, network: network, mode: training, outcome: &outcome)
    case .natural(let epsilon, let ratio):
      let replaced = Int((ratio * Double(batch.count)).rounded(.up))
      var generator = SeededGenerator(seed: attackSeed)
      var positions = Array(0..<batch.count)
      generator.shuffle(&positions)
      let chosen = positions.prefix(replaced).sorted()
      let examples = try FGSM(epsilon: epsilon).perturb(
        batch.selecting(chosen), classifier: network, targets: nil)
      let size = batch.shape.valueCount
      var pixels = batch.pixels
      for (example, position) in chosen.enumerated() {
        pixels.replaceSubrange(
          position * size..<(position + 1) * size,
          with: examples.pixels[example * size..<(example + 1) * size])
      }
      let mixed = batch.replacingPixels(pixels)
      gradients = try network.lossAndGradients(mixed, mode: training, inputGradient: false)
      let predicted = Network.argmax(gradients.logits, classes: classes)
      let isChosen = Set(chosen)
      for (position, label) in batch.labels.enumerated() {
        let right = predicted[position] == label ? 1 : 0
        if isChosen.contains(position) {
          outcome.adversarialCorrect += right
          outcome.adversarialCount += 1
        } else {
          outcome.cleanCorrect += right
          outcome.cleanCount += 1
        }
      }
    case .trades(let epsilon, let steps, let stepSize, let beta):
      let examples = try AdversarialTraining.tradesExamples(
        batch, network: network, epsilon: epsilon, steps: steps, stepSize: stepSize,
        seed: attackSeed)
      let result = try TRADESLoss.lossAndGradients(
        network: network, clean: batch, adversarial: examples, beta: beta, cleanMode: training,
        adversarialMode: .training(seed: draws.next()))
      gradients = result.gradients
      // The clean pass's statistics first, as PyTorch's two calls apply them.
      try network.updateRunningStatistics(with: result.batchStatistics[0])
      gradients.batchStatistics = result.batchStatistics[1]
      outcome.cleanCorrect = correct(gradients.logits, batch.labels)
      outcome.cleanCount = batch.count
      outcome.adversarialCorrect = correct(result.adversarialLogits, batch.labels)
      outcome.adversarialCount = batch.count
    }
    try network.updateRunningStatistics(with: gradients.batchStatistics)
    try optimizer.update(&network, with: gradients)
    outcome.lossSum = gradients.loss * Double(batch.count)
    return outcome
  }

  /// The loss of reconstructing `batch` and its gradients: the binary cross-entropy per value
  /// plus, for a network with sampling layers, each image's KL term (see ``klWeight``).
  func reconstructionGradients(
    _ batch: ImageBatch, network: Network, mode: Network.Mode
  ) throws -> Gradients {
    let values = network.architecture.classes
    let pixels = ReconstructionLoss.channelsFirst(batch.pixels, shape: batch.shape)
    // The pass reports the mean KL term; the reconstruction's loss comes from its outputs.
    var gradients = try network.lossAndGradients(
      batch, perRow: ReconstructionLoss.rowGradient(targets: pixels, values: values), mode: mode,
      klWeight: klWeight / Double(values))
    gradients.loss += ReconstructionLoss.loss(outputs: gradients.logits, targets: pixels)
    return gradients
  }

  /// The training-mode gradients on an attack's examples; counts the clean images (in
  /// evaluation mode) and the examples the network gets right.
  private func trainOn(
    _ attack: some Attack, _ batch: ImageBatch, network: Network, mode: Network.Mode,
    outcome: inout StepOutcome
  ) throws -> Gradients {
    let classes = network.architecture.classes
    let examples = try attack.perturb(batch, classifier: network, targets: nil)
    let gradients = try network.lossAndGradients(examples, mode: mode, inputGradient: false)
    let clean = Network.argmax(try network.logits(batch), classes: classes)
    outcome.cleanCorrect = zip(clean, batch.labels).count { $0 == $1 }
    outcome.cleanCount = batch.count
    outcome.adversarialCorrect = zip(
      Network.argmax(gradients.logits, classes: classes), batch.labels
    ).count { $0 == $1 }
    outcome.adversarialCount = batch.count
    return gradients
  }
}
