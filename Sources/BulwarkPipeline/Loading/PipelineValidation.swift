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

  /// Validates a pipeline file: the top-level sections and the `tune` section are each checked
  /// whatever the other's errors, and every problem is listed once, in file order.
  /// - Parameters:
  ///   - url: The pipeline file.
  ///   - registry: The defenses its stages may name.
  public init(contentsOf url: URL, registry: DefenseRegistry = .current) {
    file = url
    var found: [PipelineError] = []
    var description: PipelineDescription?
    do {
      description = try PipelineDescription(contentsOf: url, registry: registry)
    } catch {
      found += error.errors
    }
    var space: SearchSpace?
    do {
      // Every value of the search space's lists and ranges is built and checked.
      space = try SearchSpace(contentsOf: url, registry: registry)
    } catch {
      found += error.errors
    }
    externalCommands = description?.externalCommands ?? []
    for command in space?.externalCommands ?? [] where !externalCommands.contains(command) {
      externalCommands.append(command)
    }
    if found.isEmpty, let description {
      found = Self.problems(in: description, classifiers: space?.classifiers ?? [])
    }
    problems = Self.inFileOrder(found, of: url)
  }

  /// `problems` without repeats, ordered by where their key paths appear in the file (problems
  /// of the whole file first; the order found breaks ties).
  private static func inFileOrder(_ problems: [PipelineError], of url: URL) -> [PipelineError] {
    var unique: [PipelineError] = []
    for problem in problems where !unique.contains(problem) { unique.append(problem) }
    guard unique.count > 1, let text = try? pipelineText(at: url) else { return unique }
    var parser = JSON5Parser(text, file: url.path)
    guard let root = try? parser.parse() else { return unique }
    var order: [String: Int] = ["": 0]
    func visit(_ value: JSONValue, at path: String) {
      switch value {
      case .object(let members):
        for member in members {
          let child = path.isEmpty ? member.key : path + "." + member.key
          if order[child] == nil { order[child] = order.count }
          visit(member.value, at: child)
        }
      case .array(let elements):
        for (index, element) in elements.enumerated() {
          let child = path + "[\(index)]"
          order[child] = order.count
          visit(element, at: child)
        }
      case .null, .bool, .number, .string: break
      }
    }
    visit(root, at: "")
    // A path the file does not spell (`tune.classifier (model.safetensors)`, a missing key)
    // sorts with its nearest ancestor that it does.
    func position(of path: String) -> Int {
      var path = Substring(path)
      while !path.isEmpty {
        if let position = order[String(path)] { return position }
        guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" || $0 == " " }) else {
          break
        }
        path = path[..<cut]
      }
      return order[String(path)] ?? 0
    }
    return unique.enumerated()
      .sorted {
        (position(of: $0.element.path), $0.offset) < (position(of: $1.element.path), $1.offset)
      }
      .map(\.element)
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
    for fitting in description.fittings {
      guard let clean = fitting.clean else { continue }
      sets.append(("\(fitting.position.path).fit.clean", clean))
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
