import BulwarkData
import Testing

@testable import BulwarkModel

@Suite struct AttackEvaluationTests {
  private let shape = ImageShape(height: 1, width: 2, channels: 1)

  @Test func matchesHandComputedMetrics() throws {
    let clean = ImageBatch(shape: shape, pixels: [0.5, 0, 1, 1], labels: [0, 1])
    let adversarial = ImageBatch(shape: shape, pixels: [0.5, 0.25, 1, 1], labels: [0, 1])
    // Image 0 is now classified as 1 (a success); image 1 keeps its true class.
    let evaluation = AttackEvaluation(
      clean: clean, adversarial: adversarial, probabilities: [0.2, 0.8, 0.3, 0.7])
    #expect(evaluation.successCount == 1)
    #expect(evaluation.misclassificationRate == 0.5)
    #expect(evaluation.averageConfidenceAdversarialClass == Double(Float(0.8)))
    #expect(evaluation.averageConfidenceTrueClass == Double(Float(0.2)))
    // One changed pixel over one non-zero clean pixel; 0.25 / 0.5 for L2 and L-infinity.
    #expect(abs((evaluation.averageL0Distance ?? 0) - 1) < 1e-12)
    #expect(abs((evaluation.averageL2Distance ?? 0) - 0.5) < 1e-12)
    #expect(abs((evaluation.averageLInfinityDistance ?? 0) - 0.5) < 1e-12)
  }

  @Test func targetedSuccessMeansReachingTheTarget() {
    let clean = ImageBatch(shape: shape, pixels: [0.5, 0, 1, 1], labels: [0, 1])
    let evaluation = AttackEvaluation(
      clean: clean, adversarial: clean, probabilities: [0.2, 0.8, 0.3, 0.7], targets: [1, 0])
    #expect(evaluation.successCount == 1)
    #expect(evaluation.averageConfidenceAdversarialClass == Double(Float(0.8)))
  }

  @Test func noSuccessLeavesTheAveragesUndefined() {
    let clean = ImageBatch(shape: shape, pixels: [0.5, 0, 1, 1], labels: [1, 1])
    let evaluation = AttackEvaluation(
      clean: clean, adversarial: clean, probabilities: [0.2, 0.8, 0.3, 0.7])
    #expect(evaluation.misclassificationRate == 0)
    #expect(evaluation.averageSSIM == nil)
    #expect(evaluation.averageL2Distance == nil)
  }

  @Test func ssimMatchesMindSporesFormulaOnScaledImages() {
    // Reference: MindSpore's compute_ssim on the images scaled to 0-255, computed with scipy.
    let first: [Float] = [
      0.637, 0.27, 0.041, 0.017, 0.813, 0.913, 0.607, 0.729, 0.544, 0.935, 0.816, 0.003, 0.857,
      0.034, 0.73, 0.176, 0.863, 0.541, 0.3, 0.423, 0.028, 0.124, 0.671, 0.647, 0.615, 0.384,
      0.997, 0.981, 0.686, 0.65, 0.688, 0.389, 0.135, 0.721, 0.525, 0.31, 0.486, 0.889, 0.934,
      0.358, 0.572, 0.322, 0.594, 0.338, 0.392, 0.89, 0.227, 0.623, 0.084, 0.833, 0.787, 0.239,
      0.876, 0.059, 0.336, 0.15, 0.45, 0.796, 0.231, 0.052, 0.405, 0.199, 0.091, 0.58,
    ]
    let second: [Float] = [
      0.67000002, 0.24400002, 0.199, 0.149, 0.87600005, 0.69299996, 0.612, 0.797, 0.64400005,
      0.873, 0.99799997, 0, 0.791, 0.12800001, 0.735, 0.376, 0.88199997, 0.478, 0.26200002, 0.314,
      0, 0.187, 0.72900003, 0.77600002, 0.54, 0.55300003, 0.968, 1, 0.643, 0.576, 0.713, 0.492,
      0.151, 0.662, 0.39099997, 0.17, 0.536, 0.98799998, 0.91800004, 0.25100002, 0.65900004,
      0.194, 0.523, 0.4, 0.167, 0.92899996, 0.169, 0.634, 0.076, 0.853, 0.856, 0.163, 1, 0.132,
      0.42, 0.266, 0.529, 0.88, 0.23900001, 0, 0.391, 0.122, 0, 0.606,
    ]
    let shape = ImageShape(height: 8, width: 8, channels: 1)
    let ssim = AttackEvaluation.structuralSimilarity(first[...], second[...], shape: shape)
    #expect(abs(ssim - 0.9527066303475937) < 1e-9)
    #expect(AttackEvaluation.structuralSimilarity(first[...], first[...], shape: shape) == 1)
  }

  @Test(arguments: [(-1, 3, 0), (0, 3, 0), (2, 3, 2), (3, 3, 2), (5, 3, 0), (-4, 3, 2), (7, 3, 1)])
  func reflectsLikeScipy(index: Int, length: Int, expected: Int) {
    #expect(AttackEvaluation.reflect(index, length) == expected)
  }
}
