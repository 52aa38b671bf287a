import BulwarkData
import BulwarkModel
import BulwarkTestSupport
import Foundation
import Testing

/// `train`, `evaluate` and `attack` end to end on a small slice of Fashion-MNIST.
@Suite(.enabled(if: BuiltinDataset.fashionMNISTTest.isInstalled, "needs dataset-fashion-mnist"))
struct ModelCommandsTests {
  let scratch: ScratchFolder
  var folder: URL { scratch.url }

  init() throws {
    scratch = try ScratchFolder("bulwark-model-cli")
  }

  private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

  private func train(epochs: Int, out: String, checkpoint: String? = nil, threads: Int = 2)
    throws -> BulwarkProcess.Result
  {
    var arguments = [
      "train", "--arch", "lenet5", "--data", "fashion-mnist:test", "--limit", "96", "--epochs",
      "\(epochs)", "--seed", "7", "--batch-size", "32", "--threads", "\(threads)", "--out", out,
    ]
    if let checkpoint { arguments += ["--checkpoint", checkpoint] }
    return try BulwarkProcess.run(arguments)
  }

  @Test func resumingFromACheckpointGivesTheUninterruptedNetwork() throws {
    let straight = try train(epochs: 2, out: path("straight.safetensors"))
    #expect(straight.status == 0, "\(straight.error)")
    #expect(straight.output.contains("epoch 2/2: loss"))

    let first = try train(epochs: 1, out: path("first.safetensors"), checkpoint: path("ck"))
    #expect(first.status == 0, "\(first.error)")
    // The rerun with more epochs continues from the checkpoint, on another thread count.
    let resumed = try train(
      epochs: 2, out: path("resumed.safetensors"), checkpoint: path("ck"), threads: 1)
    #expect(resumed.status == 0, "\(resumed.error)")
    #expect(resumed.output.contains("Resuming from"))
    #expect(!resumed.output.contains("epoch 1/2"))
    let a = try Network(contentsOf: folder.appendingPathComponent("straight.safetensors"))
    let b = try Network(contentsOf: folder.appendingPathComponent("resumed.safetensors"))
    #expect(a.namedParameters().map(\.values) == b.namedParameters().map(\.values))
    // The training set's class names travel with the model.
    #expect(
      try classNames(ofModelAt: folder.appendingPathComponent("straight.safetensors"))
        == BuiltinDataset.fashionMNISTTest.classNames)

    // A checkpoint of another run is refused rather than silently mixed in.
    let other = try BulwarkProcess.run([
      "train", "--arch", "lenet5", "--data", "fashion-mnist:test", "--limit", "96", "--epochs",
      "2", "--seed", "8", "--batch-size", "32", "--out", path("x"), "--checkpoint", path("ck"),
    ])
    #expect(other.status == 1)
    #expect(other.error.contains("delete it to start afresh"))
  }

  @Test func trainsAnAutoencoderThatResumes() throws {
    func train(epochs: Int, out: String, threads: Int) throws -> BulwarkProcess.Result {
      try BulwarkProcess.run([
        "train", "--arch", "autoencoder", "--data", "fashion-mnist:test", "--limit", "32",
        "--epochs", "\(epochs)", "--seed", "3", "--batch-size", "16", "--threads", "\(threads)",
        "--out", out, "--checkpoint", out + ".ck",
      ])
    }
    let straight = try train(epochs: 2, out: path("ae.safetensors"), threads: 2)
    #expect(straight.status == 0, "\(straight.error)")
    #expect(straight.output.contains("epoch 2/2: reconstruction loss (BCE) "))
    #expect(!straight.output.contains("accuracy"))
    #expect(try train(epochs: 1, out: path("ae2.safetensors"), threads: 2).status == 0)
    let resumed = try train(epochs: 2, out: path("ae2.safetensors"), threads: 1)
    #expect(resumed.output.contains("Resuming from"))
    let a = try Network(contentsOf: folder.appendingPathComponent("ae.safetensors"))
    let b = try Network(contentsOf: folder.appendingPathComponent("ae2.safetensors"))
    #expect(a.architecture == .autoencoder())
    #expect(a.namedParameters().map(\.values) == b.namedParameters().map(\.values))

    let refused = try BulwarkProcess.run([
      "train", "--arch", "autoencoder", "--data", "fashion-mnist:test", "--epochs", "1",
      "--out", path("x"), "--validation", "fashion-mnist:test",
    ])
    #expect(refused.status == 2)
    #expect(refused.error.contains("takes no --adversarial or --validation"))
  }

  @Test func trainsAVariationalAutoencoder() throws {
    let out = path("vae.safetensors")
    let result = try BulwarkProcess.run([
      "train", "--arch", "autoencoder", "--variational", "--kl-weight", "0.5", "--data",
      "fashion-mnist:test", "--limit", "32", "--epochs", "1", "--seed", "3", "--batch-size", "16",
      "--out", out,
    ])
    #expect(result.status == 0, "\(result.error)")
    #expect(result.output.contains("epoch 1/1: loss (BCE + 0.5 KL) "), "\(result.output)")
    let file = try SafeTensorsFile(contentsOf: URL(fileURLWithPath: out))
    #expect(file.metadata["bulwark.trained"]?.contains("--variational --kl-weight 0.5") == true)
    let network = try Network(safeTensors: file)
    #expect(network.architecture == .autoencoder(variational: true))
  }

  @Test func evaluateAndAttackReportTheirFigures() throws {
    let model = path("m.safetensors")
    #expect(try train(epochs: 1, out: model).status == 0)

    let evaluation = try BulwarkProcess.run([
      "evaluate", "--model", model, "--data", "fashion-mnist:test", "--limit", "50", "--json",
      "--logits", path("logits.npy"),
    ])
    #expect(evaluation.status == 0, "\(evaluation.error)")
    let report = try #require(
      try JSONSerialization.jsonObject(with: Data(evaluation.output.utf8)) as? [String: Any])
    #expect(report["count"] as? Int == 50)
    let matrix = try #require(report["confusionMatrix"] as? [[Int]])
    #expect(matrix.flatMap { $0 }.reduce(0, +) == 50)
    #expect(matrix.indices.map { matrix[$0][$0] }.reduce(0, +) == report["correct"] as? Int)
    let logits = try NPYFile.read(from: folder.appendingPathComponent("logits.npy"))
    #expect(logits.shape == [50, 10])

    let attack = try BulwarkProcess.run([
      "attack", "--model", model, "--data", "fashion-mnist:test", "--limit", "20", "--method",
      "fgsm", "--eps", "0.1", "--out", path("adv.npz"), "--json",
    ])
    #expect(attack.status == 0, "\(attack.error)")
    let attackReport = try #require(
      try JSONSerialization.jsonObject(with: Data(attack.output.utf8)) as? [String: Any])
    let clean = try #require(attackReport["cleanAccuracy"] as? Double)
    let adversarial = try #require(attackReport["adversarialAccuracy"] as? Double)
    #expect(adversarial <= clean)
    let adv = try ImageBatch(
      npz: NPZArchive(contentsOf: folder.appendingPathComponent("adv.npz")), file: "adv.npz")
    let original = try DataSource("fashion-mnist:test").load().prefix(20)
    #expect(adv.labels == original.labels)
    let moved = zip(adv.pixels, original.pixels).map { abs($0 - $1) }.max() ?? 0
    #expect(abs(moved - 0.1) < 1e-6)
  }

  @Test func badModelsAndInputsAreClearErrors() throws {
    try Data([1, 2, 3]).write(to: folder.appendingPathComponent("broken.safetensors"))
    let broken = try BulwarkProcess.run([
      "evaluate", "--model", path("broken.safetensors"), "--data", "fashion-mnist:test",
    ])
    #expect(broken.status == 1)
    #expect(broken.error.contains("broken.safetensors"))
    let usage = try BulwarkProcess.run([
      "attack", "--model", "m", "--data", "d", "--method", "cw", "--eps", "1", "--out", "x",
    ])
    #expect(usage.status == 2)
    #expect(usage.error.contains("fgsm, pgd, bim"))
  }

  /// A label outside the model's classes is an error naming it, not a crash in the confusion
  /// matrix (it was `Illegal instruction`, exit 132).
  @Test func evaluateRefusesLabelsOutsideTheModelsClasses() throws {
    try TinyProblem.writeClassifier(in: folder)
    let images = ImageBatch(
      shape: ImageShape(height: 4, width: 4, channels: 1),
      pixels: [Float](repeating: 0.5, count: 3 * 16), labels: [0, 12, 1])
    try images.npzArchive.write(to: folder.appendingPathComponent("ybad.npz"))
    let result = try BulwarkProcess.run([
      "evaluate", "--model", path("tiny.safetensors"), "--data", path("ybad.npz"),
    ])
    #expect(result.status == 1, "\(result.error)")
    #expect(
      result.error
        == "error: \(path("ybad.npz")): labels: expected the classifier's classes 0...1, found 12 "
        + "on image 1\n")
  }

  /// Adversarial training killed with SIGKILL after its first checkpoint resumes from it and
  /// ends with the network of an uninterrupted run.
  @Test func adversarialTrainingResumesAfterKillMinus9() throws {
    func arguments(_ out: String, checkpoint: String?) -> [String] {
      [
        "train", "--arch", "lenet5", "--data", "fashion-mnist:test", "--limit", "64", "--epochs",
        "3", "--seed", "4", "--batch-size", "32", "--adversarial", "fgsm-rs", "--adv-eps",
        "0.1", "--out", out,
      ] + (checkpoint.map { ["--checkpoint", $0] } ?? [])
    }
    let straight = try BulwarkProcess.run(arguments(path("straight.safetensors"), checkpoint: nil))
    #expect(straight.status == 0, "\(straight.error)")
    #expect(straight.output.contains("adversarial accuracy"))

    let process = Process()
    process.executableURL = BulwarkProcess.executable
    process.arguments = arguments(path("killed.safetensors"), checkpoint: path("adv.ckpt"))
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    while !FileManager.default.fileExists(atPath: path("adv.ckpt")), process.isRunning {
      Thread.sleep(forTimeInterval: 0.01)
    }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    #expect(!FileManager.default.fileExists(atPath: path("killed.safetensors")))

    let resumed = try BulwarkProcess.run(
      arguments(path("resumed.safetensors"), checkpoint: path("adv.ckpt")))
    #expect(resumed.status == 0, "\(resumed.error)")
    #expect(resumed.output.contains("Resuming from"))
    let a = try Network(contentsOf: folder.appendingPathComponent("straight.safetensors"))
    let b = try Network(contentsOf: folder.appendingPathComponent("resumed.safetensors"))
    #expect(a.namedParameters().map(\.values) == b.namedParameters().map(\.values))

    // A checkpoint of another adversarial method is refused.
    let other = try BulwarkProcess.run(
      arguments(path("x.safetensors"), checkpoint: path("adv.ckpt")).map {
        $0 == "fgsm-rs" ? "pgd" : $0
      })
    #expect(other.status == 1)
    #expect(other.error.contains("delete it to start afresh"))
  }

  @Test func adversarialOptionsOfAnotherMethodAreUsageErrors() throws {
    let result = try BulwarkProcess.run([
      "train", "--arch", "lenet5", "--data", "fashion-mnist:test", "--epochs", "1", "--out",
      path("x"), "--adversarial", "pgd", "--trades-beta", "3",
    ])
    #expect(result.status == 2)
    #expect(result.error.contains("--trades-beta applies only to --adversarial trades, not pgd"))
    let missing = try BulwarkProcess.run([
      "train", "--arch", "lenet5", "--data", "fashion-mnist:test", "--epochs", "1", "--out",
      path("x"), "--adv-eps", "0.1",
    ])
    #expect(missing.status == 2)
    #expect(missing.error.contains("--adv-eps applies only to --adversarial"))
    let milestones = try BulwarkProcess.run([
      "train", "--arch", "lenet5", "--data", "fashion-mnist:test", "--epochs", "1", "--out",
      path("x"), "--lr-milestones", "3,x",
    ])
    #expect(milestones.status == 2)
    #expect(milestones.error.contains("--lr-milestones expects epochs >= 0"))
  }
}
