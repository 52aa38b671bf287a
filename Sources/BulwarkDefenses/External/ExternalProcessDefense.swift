import BulwarkCore
import BulwarkData
import Foundation

/// A preprocessor written in any language: a program that reads batches as `.npy` documents on
/// its standard input and writes each transformed batch as a `.npy` document on its standard
/// output.
///
/// Protocol: Bulwark starts the program once per run, then for every batch writes one `.npy`
/// (float32, N x H x W x C, C order, NumPy's own format) and waits for one `.npy` back, of the
/// same shape, float32 or float64 (converted), finite values. When the run ends, Bulwark closes
/// the program's standard input: the program should then exit. Its standard error is passed on
/// in error messages. A program that exits, crashes, hangs past `timeout` seconds for a batch,
/// or writes anything else fails the run with an error naming the stage.
///
/// A pipeline file must not run programs behind a user's back, so pipelines with this stage run
/// only when the user allows it (`--allow-external`).
public struct ExternalProcessDefense: RegisteredPreprocessor {
  /// The name of this defense in pipeline files.
  public static let typeName = "external"

  /// The program and its arguments; the first element is looked up on `PATH`.
  public let command: [String]
  /// Seconds to wait for each batch's answer.
  public let timeout: Double
  /// Whether the program draws random numbers (declared by the user).
  public let isRandomized: Bool
  /// The folder the program runs in (the pipeline file's folder, when set by the pipeline).
  public var workingDirectory: URL?

  private let session: ExternalSession

  /// The `command` parameter: the program and its arguments (required; the default is never
  /// used).
  public static let commandParameter = DefenseParameter<[String]>(
    "command", default: [],
    expected: "a program and its arguments, such as [\"python3\", \"blur.py\"]",
    accepts: { !$0.isEmpty && !$0[0].isEmpty })
  /// The `timeout` parameter: seconds to wait for each batch, a number > 0 (default 30).
  public static let timeoutParameter = DefenseParameter<Double>(
    "timeout", default: 30, expected: "a number of seconds > 0",
    accepts: { $0.isFinite && $0 > 0 })
  /// The `randomized` parameter: whether the program draws random numbers (default false).
  public static let randomizedParameter = DefenseParameter(
    "randomized", default: false, expected: "true or false")

  /// Creates an external stage; the program starts at the first batch.
  /// - Parameters:
  ///   - command: The program and its arguments.
  ///   - timeout: Seconds to wait for each batch, more than 0.
  ///   - isRandomized: Whether the program is randomised.
  ///   - workingDirectory: Where the program runs; the current folder when nil.
  /// - Throws: `DefenseParameterError` for an empty command or a non-positive timeout.
  public init(
    command: [String], timeout: Double = Self.timeoutParameter.defaultValue,
    isRandomized: Bool = Self.randomizedParameter.defaultValue, workingDirectory: URL? = nil
  ) throws(DefenseParameterError) {
    self.command = try Self.commandParameter.validated(command, stage: Self.typeName)
    self.timeout = try Self.timeoutParameter.validated(timeout, stage: Self.typeName)
    self.isRandomized = isRandomized
    self.workingDirectory = workingDirectory
    session = ExternalSession()
  }

  /// Decodes `{ command: ["python3", "blur.py"], timeout: 30, randomized: false }`.
  /// - Parameter decoder: The decoder to read from.
  /// - Throws: `DecodingError` for values of the wrong type or a missing command,
  ///   `DefenseParameterError` for values out of range.
  public init(from decoder: any Decoder) throws {
    let parameters = try DefenseParameters(decoder, stage: Self.typeName)
    try self.init(
      command: parameters.required(Self.commandParameter),
      timeout: parameters.value(Self.timeoutParameter),
      isRandomized: parameters.value(Self.randomizedParameter))
  }

  /// Sends the batch to the program and reads its answer.
  /// - Parameter batch: The images.
  /// - Returns: The program's images, with the batch's labels and class names.
  /// - Throws: `ExternalDefenseError` when the program cannot start, exits, crashes, times out
  ///   or answers with anything but a finite float array of the batch's shape.
  public func process(_ batch: ImageBatch) throws -> ImageBatch {
    let shape = [batch.count, batch.shape.height, batch.shape.width, batch.shape.channels]
    let request = NPYFile.encode(NDArray(shape: shape, storage: .float32(batch.pixels)))
    let answer = try session.exchange(
      request, command: command, workingDirectory: workingDirectory, timeout: timeout)
    let label = command.joined(separator: " ")
    func fail(_ message: String) -> ExternalDefenseError {
      ExternalDefenseError(command: label, message: message)
    }
    let array: NDArray
    do {
      array = try NPYFile.decode(answer, file: "standard output")
    } catch {
      throw fail("wrote an invalid .npy document: \(error)")
    }
    guard array.shape == shape else {
      throw fail("answered with shape \(array.shape) for a batch of shape \(shape)")
    }
    let pixels: [Float]
    switch array.storage {
    case .float32(let values): pixels = values
    case .float64(let values): pixels = values.map(Float.init)
    default: throw fail("answered with \(array.storage) values; expected float32 or float64")
    }
    if let bad = pixels.firstIndex(where: { !$0.isFinite }) {
      throw fail("answered with \(pixels[bad]) at flat index \(bad); expected finite values")
    }
    return ImageBatch(
      shape: batch.shape, pixels: pixels, labels: batch.labels, classNames: batch.classNames)
  }
}

/// The running program behind an external stage: started at the first batch, fed one batch at
/// a time, and ended (standard input closed, then terminated) when the last copy of the stage
/// is released.
final class ExternalSession: @unchecked Sendable {
  private let lock = NSLock()
  private var process: Process?
  private var input: FileHandle?
  private let output = StreamBuffer()
  private let errors = StreamBuffer()

  deinit {
    try? input?.close()
    if let process, process.isRunning {
      // Give the program a moment to exit on end of input, then stop it.
      let deadline = Date().addingTimeInterval(1)
      while process.isRunning && Date() < deadline { usleep(10_000) }
      if process.isRunning { process.terminate() }
    }
  }

  /// Writes `request` and returns the next complete `.npy` document the program writes.
  func exchange(
    _ request: [UInt8], command: [String], workingDirectory: URL?, timeout: Double
  ) throws(ExternalDefenseError) -> [UInt8] {
    lock.lock()
    defer { lock.unlock() }
    let label = command.joined(separator: " ")
    func fail(_ message: String) -> ExternalDefenseError {
      let said = errors.tail(limit: 2_000)
      return ExternalDefenseError(
        command: label, message: said.isEmpty ? message : message + "; it said: " + said)
    }
    if process == nil {
      try start(command: command, workingDirectory: workingDirectory, fail: fail)
    }
    guard let process, let input else { throw fail("could not be started") }
    guard process.isRunning else { throw fail(exitDescription(of: process)) }
    // Write on another thread so that a program that answers while still reading cannot
    // deadlock both pipes.
    // A write fails only when the program has closed its input; its exit is reported below.
    let writer = DispatchGroup()
    DispatchQueue.global().async(group: writer) {
      try? input.write(contentsOf: request)
    }
    let deadline = Date().addingTimeInterval(timeout)
    while true {
      // Checked before the document, so an answer that arrived just before the exit counts.
      let exited = !process.isRunning
      do {
        if let document = try output.takeDocument() {
          writer.wait()
          return document
        }
      } catch {
        process.terminate()
        throw fail("wrote something that is not a .npy document: \(error)")
      }
      if exited {
        process.waitUntilExit()
        // What it said last may still be on its way through the pipe.
        errors.waitForEnd(until: Date().addingTimeInterval(1))
        throw fail(exitDescription(of: process))
      }
      if Date() >= deadline {
        process.terminate()
        throw fail("gave no answer within \(timeout) s")
      }
      output.wait(until: min(deadline, Date().addingTimeInterval(0.05)))
    }
  }

  private func start(
    command: [String], workingDirectory: URL?, fail: (String) -> ExternalDefenseError
  ) throws(ExternalDefenseError) {
    // A program that dies while we write must give an error, not kill Bulwark with SIGPIPE.
    signal(SIGPIPE, SIG_IGN)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    if let workingDirectory { process.currentDirectoryURL = workingDirectory }
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stderr
    let output = self.output
    let errors = self.errors
    stdout.fileHandleForReading.readabilityHandler = { handle in
      output.append(Array(handle.availableData))
    }
    stderr.fileHandleForReading.readabilityHandler = { handle in
      errors.append(Array(handle.availableData))
    }
    do {
      try process.run()
    } catch {
      if let folder = workingDirectory?.path, FileAccess.kind(of: folder) != .folder {
        throw fail("could not be started: no folder '\(folder)' to run in")
      }
      throw fail("could not be started: /usr/bin/env, which runs it, could not be run")
    }
    self.process = process
    input = stdin.fileHandleForWriting
  }

  private func exitDescription(of process: Process) -> String {
    process.terminationReason == .uncaughtSignal
      ? "was killed by signal \(process.terminationStatus)"
      : "exited with status \(process.terminationStatus) before answering"
  }
}

/// Bytes arriving from a program's output, and the `.npy` documents cut from them.
final class StreamBuffer: @unchecked Sendable {
  private let condition = NSCondition()
  private var bytes: [UInt8] = []
  private var ended = false

  /// Adds bytes; empty data (what a pipe delivers at its end) marks the end of the stream.
  func append(_ data: [UInt8]) {
    condition.lock()
    bytes += data
    if data.isEmpty { ended = true }
    condition.broadcast()
    condition.unlock()
  }

  /// Waits until the stream has ended, at most until `date`.
  func waitForEnd(until date: Date) {
    condition.lock()
    while !ended, condition.wait(until: date) {}
    condition.unlock()
  }

  /// Waits for more bytes, at most until `date`.
  func wait(until date: Date) {
    condition.lock()
    _ = condition.wait(until: date)
    condition.unlock()
  }

  /// Removes and returns the first complete `.npy` document; nil when the bytes so far do not
  /// hold a whole one.
  func takeDocument() throws(FormatError) -> [UInt8]? {
    condition.lock()
    defer { condition.unlock() }
    guard let length = try NPYFile.documentLength(ofPrefix: bytes, file: "standard output"),
      bytes.count >= length
    else { return nil }
    let document = Array(bytes[..<length])
    bytes.removeFirst(length)
    return document
  }

  /// The last `limit` bytes as text.
  func tail(limit: Int) -> String {
    condition.lock()
    defer { condition.unlock() }
    return String(decoding: bytes.suffix(limit), as: UTF8.self)
      .trimmingCharacters(in: .whitespacesAndNewlines)
  }
}
