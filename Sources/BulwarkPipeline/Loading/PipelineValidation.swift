import BulwarkData
import BulwarkModel
import Foundation

/// Every problem of a pipeline file that can be found before anything runs, and the programs
/// it would run: what `bulwark validate` reports.
///
/// It parses the file (every key, stage and parameter), builds every value of its search
/// space, loads its classifier, and checks a built-in clean set (small and fast to read)
/// against the classifier; other sources may be large and are checked by `score` before it
/// starts.
public struct PipelineValidation: Sendable {
  /// The pipeline file.
  public var file: URL
  /// Every problem found, in file order where possible (empty for a valid file).
  public var problems: [PipelineError]
  /// The external programs its stages would run (see `PipelineStage.externalCommand`).
  public var externalCommands: [ExternalCommand]

  /// Whether the file is valid.
  public var isValid: Bool { problems.isEmpty }

  /// Validates a pipeline file.
  /// - Parameters:
  ///   - url: The pipeline file.
  ///   - registry: The defenses its stages may name.
  public init(contentsOf url: URL, registry: DefenseRegistry = .current) {
    file = url
    externalCommands = []
    let description: PipelineDescription
    do {
      description = try PipelineDescription(contentsOf: url, registry: registry)
    } catch {
      problems = error.errors
      return
    }
    let commands = description.externalCommands
    externalCommands = commands
    let space: SearchSpace
    do {
      // Every value of the search space's lists and ranges is built and checked.
      space = try SearchSpace(contentsOf: url, registry: registry)
      externalCommands += space.externalCommands.filter { !commands.contains($0) }
    } catch {
      problems = error.errors
      return
    }
    problems = Self.problems(in: description, classifiers: space.classifiers)
  }

  /// The problems of a parsed file: its models (the search space's classifiers must take the
  /// same images and give the same classes as the top-level one) and, for a built-in clean
  /// set, the image shape.
  private static func problems(in description: PipelineDescription, classifiers: [URL])
    -> [PipelineError]
  {
    let file = description.file.path
    let classifier: any Classifier
    do {
      classifier = try loadClassifier(contentsOf: description.model)
    } catch {
      return [PipelineError(file: file, path: "classifier.model", message: "\(error)")]
    }
    var problems: [PipelineError] = []
    for model in classifiers {
      let path = "tune.classifier (\(model.lastPathComponent))"
      do {
        let other = try loadClassifier(contentsOf: model)
        if other.inputShape != classifier.inputShape || other.classCount != classifier.classCount {
          problems.append(
            PipelineError(
              file: file, path: path,
              message: "expected \(classifier.inputShape) images and \(classifier.classCount) "
                + "classes as classifier.model, found \(other.inputShape) and "
                + "\(other.classCount)"))
        }
      } catch {
        problems.append(PipelineError(file: file, path: path, message: "\(error)"))
      }
    }
    guard problems.isEmpty else { return problems }
    var sets: [(String, DataSource)] = [("data.clean", description.clean)]
    if let fitting = description.fitting, let clean = fitting.clean {
      sets.append(("postprocessors[\(fitting.stage)].fit.clean", clean))
    }
    for (name, source) in sets {
      guard case .builtin(let dataset) = source else { continue }
      do {
        let images = try dataset.load()
        try Pipeline(classifier: classifier).check(images, name: name, file: file)
      } catch let error as PipelineError {
        return [error]
      } catch {
        return [PipelineError(file: file, path: name, message: "\(error)")]
      }
    }
    return []
  }
}
