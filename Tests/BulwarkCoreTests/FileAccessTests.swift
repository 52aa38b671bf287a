import BulwarkTestSupport
import Foundation
import Testing

@testable import BulwarkCore

@Suite struct FileAccessTests {
  let scratch: ScratchFolder

  init() throws {
    scratch = try ScratchFolder("bulwark-files")
  }

  @Test func namesWhatIsWrongWithAPathToRead() throws {
    try Data("x".utf8).write(to: scratch.url("file"))
    #expect(mkfifo(scratch.path("fifo"), 0o600) == 0)
    try FileManager.default.createSymbolicLink(
      atPath: scratch.path("loop-a"), withDestinationPath: scratch.path("loop-b"))
    try FileManager.default.createSymbolicLink(
      atPath: scratch.path("loop-b"), withDestinationPath: scratch.path("loop-a"))
    let cases: [(String, String)] = [
      (scratch.path("missing"), "no such file"),
      (scratch.path("gone/missing"), "no such folder '\(scratch.path("gone"))'"),
      (scratch.path(""), "it is a folder, not a file"),
      (scratch.path("fifo"), "it is a FIFO, not a regular file"),
      ("/dev/zero", "it is a character device, not a regular file"),
      (scratch.path("loop-a"), "too many levels of symbolic links (a loop?)"),
    ]
    for (path, reason) in cases {
      #expect(throws: FileAccessError(path: path, operation: .read, reason: reason)) {
        try FileAccess.contents(of: URL(fileURLWithPath: path))
      }
    }
    #expect(try FileAccess.contents(of: scratch.url("file")) == Data("x".utf8))
  }

  @Test func refusesAFileAboveTheLimitBeforeReadingIt() throws {
    try Data(count: 100).write(to: scratch.url("big"))
    #expect(
      throws: FileAccessError(
        path: scratch.path("big"), operation: .read,
        reason: "100 bytes is more than the limit of 99 bytes")
    ) {
      try FileAccess.contents(of: scratch.url("big"), limit: 99)
    }
  }

  @Test func checksAnOutputPathWithoutWritingIt() throws {
    try FileAccess.checkWritable(scratch.url("new.npz"))
    #expect(!FileManager.default.fileExists(atPath: scratch.path("new.npz")))
    #expect(
      throws: FileAccessError(
        path: scratch.path("missing/out.npz"), operation: .write,
        reason: "no such folder '\(scratch.path("missing"))'")
    ) {
      try FileAccess.checkWritable(scratch.url("missing/out.npz"))
    }
    try FileManager.default.createDirectory(
      at: scratch.url("folder"), withIntermediateDirectories: true)
    #expect(
      throws: FileAccessError(
        path: scratch.path("folder"), operation: .write, reason: "it is a folder")
    ) {
      try FileAccess.checkWritable(scratch.url("folder"))
    }
    try Data().write(to: scratch.url("plain"))
    #expect(
      throws: FileAccessError(
        path: scratch.path("plain/out.npz"), operation: .write,
        reason: "'\(scratch.path("plain"))' is not a folder")
    ) {
      try FileAccess.checkWritable(scratch.url("plain/out.npz"))
    }
  }

  @Test func checksARunFolderThatMayNotExistYet() throws {
    try FileAccess.checkFolderWritable(scratch.url("runs/a/b"))
    try Data().write(to: scratch.url("plain"))
    #expect(
      throws: FileAccessError(
        path: scratch.path("plain/run"), operation: .createFolder,
        reason: "'\(scratch.path("plain"))' is not a folder")
    ) {
      try FileAccess.checkFolderWritable(scratch.url("plain/run"))
    }
    #expect(
      throws: FileAccessError(
        path: scratch.path("plain"), operation: .createFolder,
        reason: "a file of that name exists")
    ) {
      try FileAccess.checkFolderWritable(scratch.url("plain"))
    }
  }

  @Test func writesAtomicallyAndWordsAFailedWrite() throws {
    try FileAccess.write(Data("one".utf8), to: scratch.url("f"))
    try FileAccess.write(Data("two".utf8), to: scratch.url("f"))
    #expect(try String(contentsOf: scratch.url("f"), encoding: .utf8) == "two")
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path(""))
    #expect(leftovers == ["f"])
    let error = #expect(throws: FileAccessError.self) {
      try FileAccess.write(Data(), to: scratch.url("none/f"))
    }
    #expect(
      error?.description
        == "\(scratch.path("none/f")): cannot write: no such folder '\(scratch.path("none"))'")
  }
}
