/// `bulwark boost`: the gradient-boosted-trees learner on its own.
struct BoostCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    name: "boost",
    abstract: "Fit and apply LightGBM-compatible multiclass gradient-boosted trees.",
    discussion: """
      Models are LightGBM model.txt files: a model fitted here loads in LightGBM's Python \
      package (lgb.Booster(model_file=...)) and predicts the same, and a LightGBM model loads here.
      """,
    subcommands: [BoostFitCommand.self, BoostPredictCommand.self])

  init(arguments: ParsedArguments) {}

  func run(console: Console) {}
}
