import Testing

@testable import BulwarkBoosting

/// A model LightGBM 4.7 trained (Python package, `deterministic=True, force_row_wise=True,
/// num_threads=1, verbose=-1`, 5 leaves, min_data_in_leaf 5, 3 rounds) on the 90 x 2 rows below:
/// feature 0 has ties, negatives, zeros and NaNs; feature 1 is non-negative with NaNs, so both
/// NaN scan directions and LightGBM's implicit bin 0 occur (decision types 8 and 10).
@Suite struct LightGBMFixtureTests {
  static let x: [Double] = [
    .nan, 0.75, .nan, 0.125, 1.25, 1.25, 1.0, 0.625, .nan, 0.125, 2.0, 0.5, 1.75, 0.5, 0.75, 0.75,
    1.0, 0.75, 1.0, .nan, -0.75, 0.75, 1.5, 0.75, 1.0, 0.75, .nan, .nan, 0.75, .nan, -0.25, 0.375,
    1.75, 1.0, .nan, 0.75, 1.0, 1.125, 0.75, .nan, 0.0, .nan, 1.0, 0.625, 0.0, 0.375, 1.0, 0.75,
    0.0, 0.25, 1.5, 0.75, 1.5, 0.875, -0.25, 0.5, 1.75, 1.125, 1.25, 0.5, 2.25, 0.25, -0.5, 1.5,
    .nan, .nan, 1.5, 0.875, 0.5, 0.5, -0.5, 0.0, 2.25, 0.625, -0.25, .nan, 1.5, 1.25, .nan, 0.625,
    -0.5, 1.375, .nan, 1.25, -1.25, 0.25, 0.25, 0.625, 1.5, 0.375, 2.5, 0.75, -0.75, 0.875, 0.0,
    0.125, 1.75, 1.375, .nan, 0.75, 1.5, 1.25, .nan, 0.5, 1.25, 1.25, 0.0, 0.5, 0.25, 0.625, 0.25,
    0.625, 1.5, 1.0, 1.25, 1.375, 1.0, 1.25, -0.25, 0.75, -0.25, 1.0, 0.0, .nan, .nan, .nan,
    -0.25, 0.875, -1.5, 0.375, 1.25, 0.125, 1.5, 1.125, 3.0, 1.0, 0.0, 0.375, 0.0, 0.875, -1.5,
    0.125, 1.25, 0.625, 3.5, 0.875, 0.25, 1.0, -0.75, .nan, 0.5, 0.125, -0.25, 0.5, 0.75, .nan,
    0.75, 0.625, 0.25, 0.0, 1.5, 0.125, 0.0, 0.5, 1.0, 1.0, -0.5, 0.0, 0.75, .nan, -1.75, 0.5,
    -0.5, 0.625, 1.25, 0.375, 0.0, 0.25, 1.5, 1.25,
  ]
  static let y: [Int] = [
    0, 0, 2, 1, 1, 1, 2, 0, 1, 0, 1, 2, 1, 0, 1, 0, 2, 2, 2, 1, 2, 1, 0, 1, 1, 1, 2, 0, 2, 0, 1,
    2, 0, 2, 1, 1, 2, 2, 2, 1, 2, 2, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2, 0, 1, 2, 2, 2, 2, 0, 2, 1,
    2, 0, 0, 0, 2, 2, 0, 1, 0, 0, 2, 2, 0, 0, 1, 2, 2, 0, 1, 0, 0, 0, 1, 1, 2, 1, 1, 2,
  ]

  @Test func trainsTheFileLightGBMWrote() throws {
    let p = BoostingParameters(numLeaves: 5, minDataInLeaf: 5, rounds: 3, threads: 1)
    let model = try BoostedTrees.fit(
      features: Self.x, rows: 90, columns: 2, labels: Self.y, classes: 3, parameters: p)
    #expect(model.modelText() == (try Fixtures.text("lgb_nan_zero.txt")))
  }

  @Test func predictsWhatLightGBMPredicted() throws {
    let model = try BoostedTrees(modelText: try Fixtures.text("lgb_nan_zero.txt"))
    let raw = try model.rawScores(Array(Self.x.prefix(8)), rows: 4)
    #expect(
      raw == [
        -1.2059017424473668, -1.017469416857799, -1.1405308919866928, -1.1344154715659942,
        -1.017469416857799, -1.2495529537598968, -1.4795182000376261, -1.3785241098773593,
        -0.5132830002100535, -1.2059017424473668, -0.9422509965201704, -0.9821625950857649,
      ])
  }
}
