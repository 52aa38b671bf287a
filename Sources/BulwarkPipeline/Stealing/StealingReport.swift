/// What a model-stealing run measured: how well the student does on labelled test images and
/// how often it agrees with the victim, each with its 95% Wilson interval.
public struct StealingReport: Encodable, Equatable, Sendable {
  /// A count out of a total, with its share and the share's 95% Wilson score interval.
  public struct Share: Encodable, Equatable, Sendable {
    /// The count.
    public var count: Int
    /// The total it is out of.
    public var total: Int
    /// count / total (0 for no total).
    public var share: Double { total == 0 ? 0 : Double(count) / Double(total) }
    /// The share's 95% interval.
    public var interval: ConfidenceInterval {
      ConfidenceInterval.wilson(successes: count, trials: total)
    }

    /// Creates a share.
    /// - Parameters:
    ///   - count: The count, from 0 to `total`.
    ///   - total: The total.
    public init(_ count: Int, of total: Int) {
      self.count = count
      self.total = total
    }

    enum CodingKeys: String, CodingKey { case count, total, share, interval }

    /// Encodes the count, the total, the share and its interval.
    /// - Parameter encoder: The encoder to write to.
    /// - Throws: Errors from the encoder.
    public func encode(to encoder: any Encoder) throws {
      var container = encoder.container(keyedBy: CodingKeys.self)
      try container.encode(count, forKey: .count)
      try container.encode(total, forKey: .total)
      try container.encode(share, forKey: .share)
      try container.encode(interval, forKey: .interval)
    }
  }

  /// What the student learned from.
  public var variant: ModelStealing.Variant
  /// The queries sent to the victim.
  public var queries: Int
  /// The queries it answered (did not abstain on): the student's training set.
  public var answered: Int
  /// The student's training epochs.
  public var epochs: Int
  /// The labelled test images.
  public var testImages: Int
  /// Test images the student classifies correctly.
  public var studentAccuracy: Share
  /// Test images the defended victim classifies correctly (an abstention is wrong).
  public var victimAccuracy: Share
  /// Test images on which the student's class is the victim's, out of those the victim answered.
  public var agreement: Share
  /// Seconds the run took: queries, training and measuring.
  public var seconds: Double
}
