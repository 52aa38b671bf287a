import Foundation

/// A step decay of the learning rate by epoch (PyTorch's `MultiStepLR`): the base rate times
/// `gamma` for every milestone reached, so epoch `e` trains at
/// `base x gamma^(milestones <= e)`. The rate depends only on the epoch, so a resumed run
/// trains each epoch at the rate an uninterrupted one would.
public struct LearningRateSchedule: Equatable, Sendable, CustomStringConvertible {
  /// The epochs (from 0) at which the rate is multiplied by ``gamma``, ascending.
  public var milestones: [Int]
  /// The factor applied at each milestone.
  public var gamma: Double

  /// Creates a schedule.
  /// - Parameters:
  ///   - milestones: The epochs (from 0) at which the rate drops.
  ///   - gamma: The factor of each drop (PyTorch's default is 0.1).
  public init(milestones: [Int], gamma: Double = 0.1) {
    self.milestones = milestones.sorted()
    self.gamma = gamma
  }

  /// The factor of the base rate in an epoch.
  /// - Parameter epoch: The epoch, from 0.
  /// - Returns: `gamma` to the number of milestones at or before `epoch`.
  public func factor(epoch: Int) -> Double {
    pow(gamma, Double(milestones.count { $0 <= epoch }))
  }

  /// `milestones=6,8 gamma=0.1`, as recorded in checkpoints and model files.
  public var description: String {
    "milestones=" + milestones.map(String.init).joined(separator: ",") + " gamma=\(gamma)"
  }
}
