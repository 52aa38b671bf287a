import BulwarkData
import BulwarkPipeline

/// An error as the command line words it: a library error's remedy names the flag or command
/// that carries it out (`pass --allow-external to allow it`, `run 'bulwark fit FILE' first`,
/// `continue with --resume`).
/// - Parameter error: Any error a command threw.
/// - Returns: The message, one line per problem.
func commandLineDescription(of error: any Error) -> String {
  switch error {
  case let error as PipelineError:
    error.description(wordingRemedy: commandLineRemedy)
  case let errors as PipelineErrors:
    errors.errors.map { $0.description(wordingRemedy: commandLineRemedy) }
      .joined(separator: "\n")
  case let error as DataSourceError where error.needsLabelsFile:
    "\(error.source): \(error.message); give one with --labels FILE"
  case let error as TuningError:
    switch error.remedy {
    case .resume: error.message + "; continue with --resume"
    case .startAfresh: error.message + "; remove it or run without --resume"
    case nil: error.message
    }
  default:
    "\(error)"
  }
}

/// A remedy in the command line's words.
private func commandLineRemedy(_ remedy: PipelineError.Remedy) -> String {
  switch remedy {
  case .allowExternalPrograms: "pass --allow-external to allow it"
  case .fit(let pipeline): "run 'bulwark fit \(pipeline)' first"
  case .refit(let pipeline): "run 'bulwark fit \(pipeline)' again"
  }
}
