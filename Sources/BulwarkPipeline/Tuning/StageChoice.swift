import BulwarkDefenses
import Foundation

/// One alternative for a stage slot of a search space: a concrete, built stage, or none.
public struct StageChoice: Sendable {
  /// A parameter the search varied, with where it sits on its grid (for plots and refinement).
  public struct TunedValue: Sendable, Equatable {
    /// The parameter's key in the stage (`window`).
    public var parameter: String
    /// Its value here.
    public var value: Double
    /// The spacing of its coarse grid.
    public var spacing: Double
    /// Whether every value of its grid is an integer.
    public var isIntegral: Bool
  }

  /// The concrete stage object, or nil for none.
  let json: JSONValue?
  /// Where the stage's alternative is in the file (`tune.preprocessors[0].oneOf[2]`).
  var path: String
  /// The stage's `type`, or nil for none.
  public let type: String?
  /// The built preprocessor, when this is a preprocessor slot's choice.
  public internal(set) var preprocessor: (any Preprocessor)?
  /// The built postprocessor, when this is a postprocessor slot's choice.
  public internal(set) var postprocessor: (any Postprocessor)?
  /// The parameters chosen from lists or ranges, in the stage's key order.
  public internal(set) var tuned: [TunedValue]

  /// No stage.
  static let none = StageChoice(
    json: nil, path: "", type: nil, preprocessor: nil, postprocessor: nil, tuned: [])

  /// `none`, or the type and its parameters: `jpeg-compression {quality: 50}`.
  public var label: String {
    guard let json, let type, case .object(let members) = json else { return "none" }
    let parameters = members.filter { $0.key != "type" }
    return parameters.isEmpty ? type : type + " " + JSONValue.object(parameters).compactText
  }

  /// The choice with its stage's relative paths resolved against `folder` (the pipeline
  /// file's; an external stage's program runs there), as `PipelineDescription` resolves its own
  /// stages.
  func resolvingRelativePaths(against folder: URL) -> StageChoice {
    var choice = self
    choice.preprocessor = preprocessor?.resolvingRelativePaths(against: folder)
    choice.postprocessor = postprocessor?.resolvingRelativePaths(against: folder)
    return choice
  }
}
