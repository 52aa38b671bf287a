import BulwarkDefenses

extension DefenseRegistry {
  /// Builds one preprocessor from a JSON5 stage such as `{ type: "jpeg-compression",
  /// quality: 75 }` (what `bulwark preprocess --stage` takes).
  /// - Parameters:
  ///   - text: The stage, JSON5.
  ///   - file: The name errors carry (default `--stage`).
  /// - Returns: The defense.
  /// - Throws: `PipelineErrors` for malformed JSON5, unknown types or keys, bad parameters.
  public func preprocessor(json5 text: String, file: String = "--stage") throws(PipelineErrors)
    -> any Preprocessor
  {
    try stage(json5: text, file: file) { decoder throws(PipelineError) in
      try makePreprocessor(decoder)
    }
  }

  /// Builds one postprocessor from a JSON5 stage such as `{ type: "high-confidence",
  /// cutoff: 0.3 }` (what `bulwark postprocess --stage` takes).
  /// - Parameters:
  ///   - text: The stage, JSON5.
  ///   - file: The name errors carry (default `--stage`).
  /// - Returns: The defense.
  /// - Throws: `PipelineErrors` for malformed JSON5, unknown types or keys, bad parameters.
  public func postprocessor(json5 text: String, file: String = "--stage") throws(PipelineErrors)
    -> any Postprocessor
  {
    try stage(json5: text, file: file) { decoder throws(PipelineError) in
      try makePostprocessor(decoder)
    }
  }

  private func stage<T>(
    json5 text: String, file: String,
    make: (JSONValueDecoder) throws(PipelineError) -> T
  ) throws(PipelineErrors) -> T {
    do {
      var parser = JSON5Parser(text, file: file)
      let root = try parser.parse()
      let usage = KeyUsage()
      let result = try make(JSONValueDecoder(root, usage: usage, file: file))
      let unknown = usage.unknownKeys(in: root, at: [], file: file)
      if !unknown.isEmpty { throw PipelineErrors(unknown) }
      return result
    } catch let error as PipelineErrors {
      throw error
    } catch let error as PipelineError {
      throw PipelineErrors([error])
    } catch {
      throw PipelineErrors([PipelineError(file: file, path: "", message: "\(error)")])
    }
  }

  /// Builds the preprocessor a stage object describes, reading its `type`.
  func makePreprocessor(_ decoder: JSONValueDecoder) throws(PipelineError) -> any Preprocessor {
    try make(decoder, factory: preprocessorFactory)
  }

  /// Builds the postprocessor a stage object describes, reading its `type`.
  func makePostprocessor(_ decoder: JSONValueDecoder) throws(PipelineError) -> any Postprocessor {
    try make(decoder, factory: postprocessorFactory)
  }

  /// Builds the detector a stage object describes, reading its `type`.
  func makeDetector(_ decoder: JSONValueDecoder) throws(PipelineError) -> any Detector {
    try make(decoder, factory: detectorFactory)
  }

  /// Builds a stage of one kind with the factory its `type` names in that kind.
  private func make<Stage>(
    _ decoder: JSONValueDecoder,
    factory: (String) throws(UnknownType) -> @Sendable (any Decoder) throws -> Stage
  ) throws(PipelineError) -> Stage {
    let type = try stageType(decoder)
    do {
      return try factory(type)(decoder)
    } catch let error as UnknownType {
      decoder.usage.skip(render(decoder.codingPath))
      throw decoder.error(error.message, at: decoder.codingPath + [PathKey(stringValue: "type")])
    } catch {
      throw Self.describeAbandoned(error, in: decoder)
    }
  }

  /// A stage's error; unless the stage read all its keys (a parameter out of range), its keys
  /// are not checked, since the ones it never reached would look unknown.
  private static func describeAbandoned(
    _ error: any Error, in decoder: JSONValueDecoder
  ) -> PipelineError {
    if !(error is DefenseParameterError) { decoder.usage.skip(render(decoder.codingPath)) }
    return describe(error, in: decoder)
  }

  private func stageType(_ decoder: JSONValueDecoder) throws(PipelineError) -> String {
    guard case .object = decoder.value else {
      throw decoder.mismatch("a stage object like { type: \"spatial-smoothing\", window: 3 }")
    }
    decoder.usage.record("", at: render(decoder.codingPath))
    guard let type = decoder.member("type") else {
      decoder.usage.skip(render(decoder.codingPath))
      throw decoder.error("missing required key 'type'")
    }
    do {
      return try type.decode(String.self)
    } catch {
      throw Self.describe(error, in: type)
    }
  }

  /// Any error from decoding a stage, as a `PipelineError` with the stage's path.
  static func describe(_ error: any Error, in decoder: JSONValueDecoder) -> PipelineError {
    switch error {
    case let error as PipelineError:
      return error
    case let error as DefenseParameterError:
      return decoder.error(
        error.description,
        at: decoder.codingPath + [PathKey(stringValue: error.parameter)])
    case let error as DecodingError:
      switch error {
      case .dataCorrupted(let context), .keyNotFound(_, let context),
        .typeMismatch(_, let context), .valueNotFound(_, let context):
        return decoder.error(context.debugDescription, at: context.codingPath)
      @unknown default:
        return decoder.error("\(error)")
      }
    default:
      return decoder.error("\(error)")
    }
  }
}
