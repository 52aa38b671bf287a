import BulwarkCore
import BulwarkData
import BulwarkTestSupport
import Foundation
import Testing

/// Labels that must match by class name or be refused, labels outside the model's classes, and
/// output paths checked before any work, through the commands a user runs.
@Suite struct LabelAndPathCommandsTests {
  let scratch: ScratchFolder
  static let shape = ImageShape(height: 4, width: 4, channels: 1)

  init() throws {
    scratch = try ScratchFolder("bulwark-labels-cli")
    try TinyProblem.writeClassifier(in: scratch.url)
  }

  func path(_ name: String) -> String { scratch.path(name) }

  /// `count` tiny images of one class (dark 0.3 for class 0, bright 0.7 for class 1), which the
  /// tiny classifier gets right.
  static func images(label: Int, count: Int) -> ImageBatch {
    ImageBatch(
      shape: shape, pixels: [Float](repeating: label == 1 ? 0.7 : 0.3, count: count * 16),
      labels: [Int](repeating: label, count: count), classNames: ["dark", "bright"])
  }

  func writePipeline(clean: String, adversarial: String) throws -> String {
    let text = """
      {
        classifier: { model: "tiny.safetensors" },
        data: { clean: "\(clean)", adversarial: "\(adversarial)" },
      }
      """
    try text.write(toFile: path("p.json5"), atomically: true, encoding: .utf8)
    return path("p.json5")
  }

  @Test func scoresAnAdversarialFolderThatLacksAClassWithTheRightLabels() throws {
    var clean = Self.images(label: 0, count: 3)
    clean.pixels += Self.images(label: 1, count: 3).pixels
    clean.labels += [1, 1, 1]
    try ImageFolder(root: scratch.url("clean")).write(clean)
    // Only bright images, all classified right: no `0-dark` folder at all.
    try ImageFolder(root: scratch.url("adv")).write(Self.images(label: 1, count: 5))
    try FileManager.default.removeItem(at: scratch.url("adv/0-dark"))
    let file = try writePipeline(clean: "clean", adversarial: "adv")
    let result = try BulwarkProcess.run(["score", file])
    #expect(result.status == 0, "\(result.error)")
    #expect(result.output.hasPrefix("Clean: 6 / 6\nAdv: 5 / 5\n"))

    // Named folders without numbers are matched by name, whatever their sorted order.
    try FileManager.default.moveItem(at: scratch.url("adv/1-bright"), to: scratch.url("adv/Bright"))
    let named = try BulwarkProcess.run(["score", file])
    #expect(named.status == 0, "\(named.error)")
    #expect(named.output.hasPrefix("Clean: 6 / 6\nAdv: 5 / 5\n"))
  }

  /// A model that records its classes' names (as `bulwark train` writes them) has a clean folder
  /// of plain names, sorted the other way round, matched to them.
  @Test func matchesTheCleanSetToTheModelsClassNames() throws {
    try TinyProblem.writeClassifier(in: scratch.url, classNames: ["dark", "bright"])
    var clean = Self.images(label: 0, count: 2)
    clean.pixels += Self.images(label: 1, count: 3).pixels
    clean.labels += [1, 1, 1]
    try ImageFolder(root: scratch.url("numbered")).write(clean)
    // `bright` sorts before `dark`: by position, every label would be the other class.
    try FileManager.default.createDirectory(
      at: scratch.url("named"), withIntermediateDirectories: true)
    for (from, to) in [("0-dark", "dark"), ("1-bright", "bright")] {
      try FileManager.default.moveItem(
        at: scratch.url("numbered/\(from)"), to: scratch.url("named/\(to)"))
    }
    let evaluate = try BulwarkProcess.run([
      "evaluate", "--model", path("tiny.safetensors"), "--data", path("named"),
    ])
    #expect(evaluate.status == 0, "\(evaluate.error)")
    #expect(evaluate.output.contains("Accuracy: 5 / 5 = 100.00%"), "\(evaluate.output)")
    let file = try writePipeline(clean: "named", adversarial: "named")
    let score = try BulwarkProcess.run(["score", file])
    #expect(score.status == 0, "\(score.error)")
    #expect(score.output.hasPrefix("Clean: 5 / 5\nAdv: 5 / 5\n"), "\(score.output)")

    try FileManager.default.moveItem(at: scratch.url("named/dark"), to: scratch.url("named/dusk"))
    let foreign = try BulwarkProcess.run(["score", file])
    #expect(foreign.status == 1)
    #expect(
      foreign.error.contains("class 'dusk' is not a class of the model tiny.safetensors"),
      "\(foreign.error)")
  }

  @Test func refusesAShiftedOrForeignClassNamingBothSets() throws {
    try ImageFolder(root: scratch.url("clean")).write(Self.images(label: 0, count: 2))
    // Bright images in a folder that claims to be class 0.
    try ImageFolder(root: scratch.url("source")).write(Self.images(label: 1, count: 2))
    try FileManager.default.createDirectory(
      at: scratch.url("shifted-set"), withIntermediateDirectories: true)
    try FileManager.default.moveItem(
      at: scratch.url("source/1-bright"), to: scratch.url("shifted-set/0-bright"))
    let file = try writePipeline(clean: "clean", adversarial: "shifted-set")
    let shifted = try BulwarkProcess.run(["score", file])
    #expect(shifted.status == 1)
    #expect(
      shifted.error.contains(
        "data.adversarial (\(path("shifted-set"))): class '0-bright' is numbered 0, but "
          + "'1-bright' is class 1 of data.clean (\(path("clean")))"), "\(shifted.error)")

    try FileManager.default.moveItem(
      at: scratch.url("shifted-set/0-bright"), to: scratch.url("shifted-set/cloudy"))
    let foreign = try BulwarkProcess.run(["score", file])
    #expect(foreign.status == 1)
    #expect(
      foreign.error.contains(
        "data.adversarial (\(path("shifted-set"))): class 'cloudy' is not a class of "
          + "data.clean (\(path("clean")))"), "\(foreign.error)")
  }

  @Test func refusesALabelOutsideTheModelsClassesInEveryCommand() throws {
    var batch = Self.images(label: 1, count: 4)
    batch.labels[2] = 12
    batch.classNames = (0...12).map(String.init)
    try batch.npzArchive.write(to: scratch.url("bad.npz"))
    try Self.images(label: 0, count: 4).npzArchive.write(to: scratch.url("good.npz"))
    let pipeline = """
      {
        classifier: { model: "tiny.safetensors" },
        data: { clean: "bad.npz", adversarial: "good.npz" },
        tune: { sample: 4 },
      }
      """
    try pipeline.write(toFile: path("p.json5"), atomically: true, encoding: .utf8)
    let model = path("tiny.safetensors")
    let runs: [[String]] = [
      ["evaluate", "--model", model, "--data", path("bad.npz")],
      [
        "attack", "--model", model, "--data", path("bad.npz"), "--method", "fgsm", "--eps", "0.1",
        "--out", path("a.npz"),
      ],
      ["score", path("p.json5")],
      ["tune", path("p.json5"), "--out", path("run")],
    ]
    for arguments in runs {
      let result = try BulwarkProcess.run(arguments)
      #expect(result.status == 1, "\(arguments[0]): \(result.error)")
      #expect(
        result.error.contains(
          "\(path("bad.npz")): labels: expected the classifier's classes 0...1, found 12 on image 2"
        )
          || result.error.contains(
            "data.clean (\(path("bad.npz"))): label 12 is outside the classifier's 2 classes"),
        "\(arguments[0]): \(result.error)")
    }
  }

  @Test func aMissingOutputFolderFailsBeforeAnyWork() throws {
    try Self.images(label: 0, count: 4).npzArchive.write(to: scratch.url("d.npz"))
    let missing = path("missing")
    let runs: [(arguments: [String], output: String)] = [
      (
        [
          "train", "--arch", "lenet5", "--data", "fashion-mnist:test", "--limit", "8", "--epochs",
          "1",
          "--out", "\(missing)/m.safetensors",
        ], "\(missing)/m.safetensors"
      ),
      (
        [
          "attack", "--model", path("tiny.safetensors"), "--data", path("d.npz"), "--method",
          "fgsm",
          "--eps", "0.1", "--out", "\(missing)/a.npz",
        ], "\(missing)/a.npz"
      ),
      (["data", "convert", path("d.npz"), "--out", "\(missing)/c.npz"], "\(missing)/c.npz"),
      (
        [
          "evaluate", "--model", path("tiny.safetensors"), "--data", path("d.npz"), "--logits",
          "\(missing)/l.npy",
        ], "\(missing)/l.npy"
      ),
    ]
    for run in runs {
      let result = try BulwarkProcess.run(run.arguments)
      #expect(result.status == 1, "\(run.arguments[0])")
      #expect(
        result.error == "error: \(run.output): cannot write: no such folder '\(missing)'\n",
        "\(run.arguments[0]): \(result.error)")
      #expect(result.output.isEmpty, "\(run.arguments[0]) did work: \(result.output)")
    }
    #expect(!FileManager.default.fileExists(atPath: missing))
  }
}
