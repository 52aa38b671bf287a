extension ImageBatch {
  /// This batch with its labels renumbered into another set's classes, matched by name, so that
  /// a set that lacks a class (an adversarial folder with no images of class 1) keeps the right
  /// label on every image instead of shifting the later ones.
  ///
  /// A class name is read as an index, a name, or both: `7` is class 7; `3-Dress` (the folders
  /// `bulwark data convert` writes) is class 3 named `Dress`; `Dress` is a name. Names match
  /// whatever their case, with `/`, `\` and `:` read as `-` (as folder names write them). A
  /// class matches the reference's class of the same name; without names on either side, the
  /// class of the same index. A class of this batch with no images is ignored; a class of the
  /// reference missing here is fine.
  /// - Parameters:
  ///   - reference: The class names the labels must index (the clean set's).
  ///   - referenceName: The reference set as a message names it (`data.clean`).
  ///   - name: This set as a message names it (`data.adversarial`).
  /// - Returns: The same images with labels into `reference` and its class names.
  /// - Throws: `DataSourceError` naming both sets when a class's name is not one of the
  ///   reference's (foreign), when its number and its name point at different classes
  ///   (shifted), or when nothing tells which class it is.
  public func aligned(
    toClasses reference: [String], of referenceName: String, as name: String
  ) throws(DataSourceError) -> ImageBatch {
    if classNames == reference { return self }
    let references = reference.map(ClassName.init)
    let referenceIsNamed = references.contains { $0.key != nil }
    var byKey: [String: Int] = [:]
    for (index, parsed) in references.enumerated() {
      if let key = parsed.key, byKey[key] == nil { byKey[key] = index }
    }
    var target = [Int](repeating: -1, count: classCount)
    var claimedBy: [Int: Int] = [:]
    for own in Set(labels).sorted() {
      let parsed = ClassName(classNames[own])
      let quoted = "class '\(classNames[own])'"
      let index: Int
      if let key = parsed.key, referenceIsNamed {
        guard let found = byKey[key] else {
          throw DataSourceError(
            source: name,
            message: "\(quoted) is not a class of \(referenceName) (its classes: "
              + reference.map { "'\($0)'" }.joined(separator: ", ") + ")")
        }
        if let number = parsed.index, number != found {
          throw DataSourceError(
            source: name,
            message: "\(quoted) is numbered \(number), but '\(reference[found])' is class "
              + "\(found) of \(referenceName)")
        }
        index = found
      } else if let number = parsed.index {
        guard number < reference.count else {
          throw DataSourceError(
            source: name,
            message: "\(quoted) is numbered \(number), but \(referenceName) has classes "
              + "0...\(reference.count - 1)")
        }
        index = number
      } else if classCount == reference.count {
        // Unnamed reference and as many classes: the sorted order is the only information.
        index = own
      } else {
        throw DataSourceError(
          source: name,
          message: "cannot tell which of the \(reference.count) unnamed classes of "
            + "\(referenceName) \(quoted) is; number its folders like '3-\(classNames[own])'")
      }
      if let other = claimedBy[index] {
        throw DataSourceError(
          source: name,
          message: "\(quoted) and class '\(classNames[other])' both match class \(index) "
            + "'\(reference[index])' of \(referenceName)")
      }
      claimedBy[index] = own
      target[own] = index
    }
    return ImageBatch(
      shape: shape, pixels: pixels, labels: labels.map { target[$0] }, classNames: reference)
  }
}

/// A class name read as an index, a name, or both (`7`, `Dress`, `3-Dress`).
struct ClassName {
  /// The class number the name states, if any.
  var index: Int?
  /// The name without its number, as written, if any.
  var name: Substring?

  /// Reads `text`.
  init(_ text: String) {
    let digits = text.prefix { $0.isASCII && $0.isNumber }
    let rest = text.dropFirst(digits.count)
    guard !digits.isEmpty, digits.count <= 9, let number = Int(digits),
      rest.isEmpty || (rest.first == "-" && rest.count > 1)
    else {
      name = Substring(text)
      return
    }
    index = number
    name = rest.isEmpty ? nil : rest.dropFirst()
  }

  /// The name folded for matching: lower case, as a folder name writes it.
  var key: String? { name.map { Self.folderName($0.lowercased()) } }

  /// `text` as a folder name can hold it: `/`, `\` and `:` written as `-`.
  static func folderName(_ text: some StringProtocol) -> String {
    String(text.map { $0 == "/" || $0 == "\\" || $0 == ":" ? "-" : $0 })
  }
}
