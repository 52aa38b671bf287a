import BulwarkCore
import BulwarkData
import BulwarkModel
import Foundation

/// `bulwark train`: trains a CNN and writes it as a frozen classifier.
struct TrainCommand: ParsableCommand {
  static let architectures = ["lenet5", "rgb-cnn", "autoencoder"]
  static let optimizers = ["adam", "sgd"]
  static let adversarialMethods = ["pgd", "fgsm-rs", "nad", "trades"]

  static let configuration = CommandConfiguration(
    name: "train",
    abstract: "Train a CNN on an image set and save it as a frozen classifier (.safetensors).",
    discussion: """
      Prints one line per epoch: loss, accuracy and images/s (and validation accuracy with \
      --validation). With --checkpoint, the run is saved after every epoch and a rerun of the \
      same command continues from the last finished epoch, giving the same final network as an \
      uninterrupted run. The same seed gives the same network whatever the thread count.

      --lr-milestones 6,8 multiplies the learning rate by --lr-gamma at the start of those \
      epochs, counted from 0 (PyTorch's MultiStepLR); a resumed run trains each epoch at the \
      rate an uninterrupted one would.

      Steps run in training mode: batch normalisation normalises with the batch's statistics \
      and updates its running ones (momentum 0.1, as PyTorch), dropout is active. The saved \
      model is used in evaluation mode.

      --adversarial hardens the network by training on examples made each step against the \
      current weights (in evaluation mode), inside the L-infinity ball of --adv-eps:
        pgd      Madry et al. 2018: --adv-steps steps of --adv-step-size from a
                 random start (defaults: 7 steps of eps/4).
        fgsm-rs  Wong et al. 2020: one FGSM step of --adv-step-size (default
                 1.25 eps) from a random start.
        nad      MindSpore Armour's NaturalAdversarialDefense: a random
                 --adv-ratio of each batch is replaced by its FGSM examples.
        trades   Zhang et al. 2019: cross-entropy on clean images plus
                 --trades-beta times the KL divergence between clean and
                 adversarial outputs; the examples maximise that divergence
                 (defaults: 10 steps of eps/4).
      Epoch lines then add the accuracy on the adversarial training images.

      --arch autoencoder trains a convolutional autoencoder (encoder conv 3x3 16 and 8 \
      filters with max pooling, decoder with nearest-neighbour upsampling) to reproduce the \
      training images, whatever their size (height and width multiples of 4); labels are not \
      used. Its loss is the binary cross-entropy of the sigmoid of its outputs against the \
      pixels, and the model is what the autoencoder preprocessor stage runs.

      --variational makes it a variational autoencoder (Kingma and Welling 2014): the \
      bottleneck gives 8 channels of means and 8 of log-variances, and the decoder reads a code \
      sampled from that Gaussian in training and its means in evaluation (what the autoencoder \
      preprocessor and the magnet detector run, unchanged). The loss adds --kl-weight (beta, \
      default 1) times the KL divergence of the Gaussian from N(0, I) per image, divided by the \
      image's value count as the cross-entropy is a mean per value; epoch lines print the sum \
      as "loss (BCE + KL)".
      """,
    arguments: [
      archOption.definition, dataOption.definition, epochsOption.definition,
      seedOption.definition, outOption.definition, checkpointOption.definition,
      batchSizeOption.definition, optimizerOption.definition, learningRateOption.definition,
      momentumOption.definition, milestonesOption.definition, gammaOption.definition,
      validationOption.definition, limitOption.definition, adversarialOption.definition,
      adversarialEpsilonOption.definition,
      adversarialStepsOption.definition, adversarialStepSizeOption.definition,
      adversarialRatioOption.definition, tradesBetaOption.definition,
      variationalFlag.definition, klWeightOption.definition,
      ModelOptions.threads.definition, .json,
    ])

  static let archOption = Option<String>(
    "arch", valueName: "NAME",
    help: "Architecture: lenet5 (28x28x1), rgb-cnn (64x64x3) or autoencoder (sides of 4n).",
    isRequired: true, choices: architectures)
  static let dataOption = Option<String>(
    "data", valueName: "SOURCE", help: "Training images.", isRequired: true)
  static let epochsOption = Option(
    "epochs", valueName: "E", help: "Epochs to train.", isRequired: true, in: 1...10_000)
  static let seedOption = Option<UInt64>(
    "seed", valueName: "S", help: "Seed of the initial weights and the shuffles.", default: 0)
  static let outOption = Option<String>(
    "out", valueName: "FILE", help: "Where to write the model.", isRequired: true)
  static let checkpointOption = Option<String>(
    "checkpoint", valueName: "FILE", help: "Save after every epoch; resume from it.")
  static let batchSizeOption = Option(
    "batch-size", valueName: "N", help: "Images per step.", default: 64, in: 1...65_536)
  static let optimizerOption = Option<String>(
    "optimizer", valueName: "NAME", help: "adam or sgd.", default: "adam", choices: optimizers)
  static let learningRateOption = Option<Double>(
    "learning-rate", valueName: "LR", help: "Step size (default: 0.001 for adam, 0.01 for sgd).",
    in: 1e-12...10)
  static let momentumOption = Option(
    "momentum", valueName: "M", help: "SGD momentum.", default: 0.9, in: 0...0.999_999)
  static let milestonesOption = Option<String>(
    "lr-milestones", valueName: "E1,E2,…",
    help: "Epochs (from 0) at which the learning rate is multiplied by --lr-gamma.")
  static let gammaOption = Option<Double>(
    "lr-gamma", valueName: "G", help: "The learning rate's factor at each milestone.",
    default: 0.1, in: 0...1)
  static let validationOption = Option<String>(
    "validation", valueName: "SOURCE", help: "Images to report accuracy on per epoch.")
  static let limitOption = Option(
    "limit", valueName: "N", help: "Train on the first N images only.", in: 1...Int.max)

  static let adversarialOption = Option<String>(
    "adversarial", valueName: "METHOD", help: "Adversarial training: pgd, fgsm-rs, nad or trades.",
    choices: adversarialMethods)
  static let adversarialEpsilonOption = Option<Double>(
    "adv-eps", valueName: "EPS", help: "L-infinity radius of the training examples (0.1).",
    in: 1e-6...1)
  static let adversarialStepsOption = Option<Int>(
    "adv-steps", valueName: "N", help: "Attack steps per batch (pgd: 7, trades: 10).",
    in: 1...1_000)
  static let adversarialStepSizeOption = Option<Double>(
    "adv-step-size", valueName: "ALPHA",
    help: "Attack step (pgd, trades: eps/4; fgsm-rs: 1.25 eps).", in: 1e-6...1)
  static let adversarialRatioOption = Option<Double>(
    "adv-ratio", valueName: "R", help: "nad: fraction of each batch replaced by examples (0.5).",
    in: 1e-6...1)
  static let tradesBetaOption = Option<Double>(
    "trades-beta", valueName: "BETA", help: "trades: weight of the KL term (6).",
    in: 0...1_000)

  static let variationalFlag = Flag(
    "variational", help: "autoencoder: make it variational (sampled code, KL term).")
  static let klWeightOption = Option<Double>(
    "kl-weight", valueName: "W", help: "--variational: weight of the KL term (1).",
    in: 0...1_000)

  var arch: String
  var data: String
  var epochs: Int
  var seed: UInt64
  var out: String
  var checkpoint: String?
  var batchSize: Int
  var optimizer: String
  var learningRate: Double
  var momentum: Double
  var validation: String?
  var limit: Int?
  var adversarial: AdversarialTraining?
  var schedule: LearningRateSchedule?
  /// The KL term's weight of a variational autoencoder; nil for other networks.
  var klWeight: Double?
  var threads: Int?
  var json: Bool

  init(arguments: ParsedArguments) throws(UsageError) {
    arch = try arguments.required(Self.archOption)
    data = try arguments.required(Self.dataOption)
    epochs = try arguments.required(Self.epochsOption)
    seed = try arguments.required(Self.seedOption)
    out = try arguments.required(Self.outOption)
    checkpoint = try arguments.value(Self.checkpointOption)
    batchSize = try arguments.required(Self.batchSizeOption)
    optimizer = try arguments.required(Self.optimizerOption)
    learningRate =
      try arguments.value(Self.learningRateOption) ?? (optimizer == "adam" ? 0.001 : 0.01)
    momentum = try arguments.required(Self.momentumOption)
    validation = try arguments.value(Self.validationOption)
    limit = try arguments.value(Self.limitOption)
    threads = try arguments.value(ModelOptions.threads)
    json = arguments[.json]
    adversarial = try Self.adversarialTraining(arguments)
    if arch == "autoencoder", adversarial != nil || validation != nil {
      throw UsageError(
        "--arch autoencoder learns to reconstruct images: it takes no --adversarial or "
          + "--validation", commandPath: arguments.commandPath)
    }
    klWeight = try Self.klWeight(arguments, arch: arch)
    schedule = try arguments.value(Self.milestonesOption).map { text throws(UsageError) in
      let epochs = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard !epochs.isEmpty, epochs.allSatisfy({ ($0 ?? -1) >= 0 }) else {
        throw UsageError(
          "--lr-milestones expects epochs >= 0 separated by commas, got '\(text)'",
          commandPath: arguments.commandPath)
      }
      return LearningRateSchedule(
        milestones: epochs.compactMap { $0 }, gamma: try arguments.required(Self.gammaOption))
    }
  }

  /// The KL weight of a variational autoencoder (1 unless --kl-weight gives it); nil without
  /// --variational, which only an autoencoder takes.
  static func klWeight(_ arguments: ParsedArguments, arch: String) throws(UsageError) -> Double? {
    let weight = try arguments.value(klWeightOption)
    guard arguments[variationalFlag] else {
      guard weight == nil else {
        throw UsageError(
          "--kl-weight applies only with --variational", commandPath: arguments.commandPath)
      }
      return nil
    }
    guard arch == "autoencoder" else {
      throw UsageError(
        "--variational applies only to --arch autoencoder, not \(arch)",
        commandPath: arguments.commandPath)
    }
    return weight ?? 1
  }

  /// The adversarial training the options describe; nil without --adversarial.
  static func adversarialTraining(_ arguments: ParsedArguments) throws(UsageError)
    -> AdversarialTraining?
  {
    let method = try arguments.value(adversarialOption)
    let givenEpsilon = try arguments.value(adversarialEpsilonOption)
    let steps = try arguments.value(adversarialStepsOption)
    let stepSize = try arguments.value(adversarialStepSizeOption)
    let ratio = try arguments.value(adversarialRatioOption)
    let beta = try arguments.value(tradesBetaOption)
    let restricted: [(name: String, isGiven: Bool, methods: [String])] = [
      (adversarialEpsilonOption.definition.name, givenEpsilon != nil, adversarialMethods),
      (adversarialStepsOption.definition.name, steps != nil, ["pgd", "trades"]),
      (adversarialStepSizeOption.definition.name, stepSize != nil, ["pgd", "fgsm-rs", "trades"]),
      (adversarialRatioOption.definition.name, ratio != nil, ["nad"]),
      (tradesBetaOption.definition.name, beta != nil, ["trades"]),
    ]
    for option in restricted where option.isGiven && !option.methods.contains(method ?? "") {
      throw UsageError(
        "--\(option.name) applies only to --adversarial "
          + option.methods.joined(separator: ", ") + (method.map { ", not \($0)" } ?? ""),
        commandPath: arguments.commandPath)
    }
    let epsilon = givenEpsilon ?? 0.1
    switch method {
    case "pgd":
      return .pgd(
        epsilon: Float(epsilon), steps: steps ?? 7, stepSize: Float(stepSize ?? epsilon / 4))
    case "fgsm-rs":
      return .fgsmRandomStart(
        epsilon: Float(epsilon), stepSize: Float(stepSize ?? 1.25 * epsilon))
    case "nad":
      return .natural(epsilon: Float(epsilon), ratio: ratio ?? 0.5)
    case "trades":
      return .trades(
        epsilon: Float(epsilon), steps: steps ?? 10, stepSize: Float(stepSize ?? epsilon / 4),
        beta: beta ?? 6)
    default:
      return nil
    }
  }

  /// The run's result, as `--json` prints it.
  struct Report: Encodable {
    var out: String
    var epochs: [TrainingCheckpoint.Epoch]
    var resumedAfter: Int
    var seconds: Double
  }

  func run(console: Console) throws {
    // Every epoch would be lost to a missing folder found only at the end.
    try FileAccess.checkWritable(URL(fileURLWithPath: out))
    if let checkpoint { try FileAccess.checkWritable(URL(fileURLWithPath: checkpoint)) }
    var training = try DataSource(data).load()
    if let limit { training = training.prefix(limit) }
    let validationData = try validation.map { source in
      try DataSource(source).load().aligned(
        toClasses: training.classNames, of: "--data \(data)", as: "--validation \(source)")
    }
    let options = ComputeOptions(threads: threads)
    let architecture: Architecture
    switch arch {
    case "lenet5": architecture = .lenet5(classes: training.classCount)
    case "rgb-cnn": architecture = .rgbCNN(classes: training.classCount)
    default:
      guard training.shape.height % 4 == 0, training.shape.width % 4 == 0 else {
        throw ModelError(
          field: "--data", expected: "images whose height and width are multiples of 4 for \(arch)",
          found: "\(training.shape)")
      }
      architecture = .autoencoder(input: training.shape, variational: klWeight != nil)
    }
    guard training.shape == architecture.input else {
      throw ModelError(
        field: "--data", expected: "\(architecture.input) images for \(arch)",
        found: "\(training.shape)")
    }
    let rateName =
      optimizer == "adam"
      ? "adam lr=\(learningRate)" : "sgd lr=\(learningRate) momentum=\(momentum)"
    let optimizerName = rateName + (schedule.map { " \($0)" } ?? "")
    let settings = TrainingCheckpoint.Settings(
      data: data + (limit.map { " (first \($0))" } ?? ""), seed: seed, batchSize: batchSize,
      optimizer: optimizerName, adversarial: adversarial, klWeight: klWeight)
    if optimizer == "adam" {
      try train(
        Adam(learningRate: Float(learningRate)), architecture: architecture, settings: settings,
        data: training, validation: validationData, options: options, console: console)
    } else {
      try train(
        SGD(learningRate: Float(learningRate), momentum: Float(momentum)),
        architecture: architecture, settings: settings, data: training,
        validation: validationData, options: options, console: console)
    }
  }

  private func train(
    _ optimizer: some Optimizer, architecture: Architecture,
    settings: TrainingCheckpoint.Settings, data: ImageBatch, validation: ImageBatch?,
    options: ComputeOptions, console: Console
  ) throws {
    let clock = ContinuousClock()
    let start = clock.now
    var firstEpoch = 0
    let reconstructs = arch == "autoencoder"
    let outcome = try Trainer(
      batchSize: batchSize, seed: settings.seed, adversarial: adversarial,
      reconstructs: reconstructs, klWeight: klWeight ?? 1
    ).train(
      architecture, optimizer: optimizer, data: data, validation: validation, epochs: epochs,
      settings: settings, checkpoint: checkpoint.map { URL(fileURLWithPath: $0) },
      options: options, schedule: schedule
    ) { event in
      switch event {
      case .resumed(let epoch, let file):
        firstEpoch = epoch
        if !json { console.print("Resuming from \(file.path) after epoch \(epoch)") }
      case .step(let epoch, let total, let step):
        console.progress(
          progressLine(
            epoch: epoch, total: total, step: step,
            imagesDone: (epoch - firstEpoch) * total + step.done, reconstructs: reconstructs,
            seconds: (clock.now - start).inSeconds))
      case .finished(let entry, let imagesPerSecond):
        console.endProgress()
        guard !json else { return }
        var line = "epoch \(entry.epoch + 1)/\(epochs): "
        if let klWeight {
          let term = klWeight == 1 ? "KL" : String(format: "%g KL", klWeight)
          line += "loss (BCE + \(term)) \(format(entry.loss, digits: 4)), "
        } else if reconstructs {
          line += "reconstruction loss (BCE) \(format(entry.loss, digits: 4)), "
        } else {
          line +=
            "loss \(format(entry.loss, digits: 4)), accuracy "
            + "\(format(100 * entry.accuracy, digits: 2))%, "
        }
        if let adversarial = entry.adversarialAccuracy {
          line += "adversarial accuracy \(format(100 * adversarial, digits: 2))%, "
        }
        line += "\(format(imagesPerSecond, digits: 0)) images/s"
        if let validationAccuracy = entry.validationAccuracy {
          line += ", validation accuracy \(format(100 * validationAccuracy, digits: 2))%"
        }
        console.print(line)
      }
    }
    var metadata = [
      "bulwark.trained": "--arch \(arch) --data \(settings.data) --epochs \(epochs) "
        + "--seed \(settings.seed) --batch-size \(batchSize) --optimizer \(settings.optimizer)"
        + (adversarial.map { " --adversarial \($0)" } ?? "")
        + (klWeight.map { " --variational --kl-weight \($0)" } ?? "")
    ]
    if let last = outcome.epochs.last?.validationAccuracy, let validation = self.validation {
      metadata["bulwark.validation-accuracy"] = "\(last) on \(validation)"
    }
    // The classes' names travel with the model, so that data sets are matched to them by name.
    if !reconstructs, data.classNames != data.classNames.indices.map(String.init) {
      metadata[classNamesMetadataKey] = String(
        decoding: try JSONEncoder().encode(data.classNames), as: UTF8.self)
    }
    try outcome.network.write(to: URL(fileURLWithPath: out), metadata: metadata)
    let seconds = (clock.now - start).inSeconds
    if json {
      try console.printJSON(
        Report(
          out: out, epochs: outcome.epochs, resumedAfter: outcome.resumedAfter, seconds: seconds))
    } else {
      console.print("Wrote \(out) (\(format(seconds, digits: 1)) s)")
    }
  }

  /// The terminal's progress line: `epoch 2/8: 12800/60000 images, loss 0.9123, accuracy
  /// 81.2%, adversarial 60.1%, ETA 5:12` (an autoencoder's without accuracy), the ETA
  /// extrapolating this run's rate.
  private func progressLine(
    epoch: Int, total: Int, step: Trainer.StepProgress, imagesDone: Int, reconstructs: Bool,
    seconds: Double
  ) -> String {
    var line =
      "epoch \(epoch + 1)/\(epochs): \(step.done)/\(total) images, loss "
      + "\(format(step.loss, digits: 4))"
    if !reconstructs { line += ", accuracy \(format(100 * step.accuracy, digits: 1))%" }
    if let adversarial = step.adversarialAccuracy {
      line += ", adversarial \(format(100 * adversarial, digits: 1))%"
    }
    let left = (epochs - epoch) * total - step.done
    let remaining = Int((seconds / Double(max(imagesDone, 1)) * Double(left)).rounded())
    return line + ", ETA \(remaining / 60):" + String(format: "%02d", remaining % 60)
  }
}
