import MedicalImaging
import SAMModels
import Segmentation
import TensorRuntime
import XCTest

/// Where volume propagation walks and where it stops: the stop rule's cases, the 3-D box's key
/// slice and coverage (the LiteMedSAM challenge's rule), and its bad inputs.
final class VolumePropagationTests: XCTestCase {
    typealias Rule = VolumePropagation.StopRule

    func testStopRuleEndsAWalkAtEmptyTinyGrowingOrOversizedMasks() {
        let rule = Rule()
        XCTAssertNil(rule.reason(area: 90, previousArea: 100, keyArea: 120, predictedIoU: 0.2), "a shrinking mask walks on")
        XCTAssertNil(rule.reason(area: 259, previousArea: 200, keyArea: 300, predictedIoU: 0.2), "growth up to 1.3x walks on")
        XCTAssertNil(rule.reason(area: 40, previousArea: 10, keyArea: 300, predictedIoU: 0.2),
                     "4x growth by 30 px is noise on a small mask, not a leak")
        XCTAssertEqual(rule.reason(area: 0, previousArea: 100, keyArea: 120, predictedIoU: 0.9), "empty mask")
        XCTAssertEqual(rule.reason(area: 3, previousArea: 10, keyArea: 120, predictedIoU: 0.9), "mask under 4 px")
        XCTAssertEqual(rule.reason(area: 261, previousArea: 200, keyArea: 1000, predictedIoU: 0.9),
                       "area grew 261 / 200 px over the previous slice")
        XCTAssertEqual(rule.reason(area: 241, previousArea: 240, keyArea: 120, predictedIoU: 0.9),
                       "area 241 px exceeds the key slice's 120 px")
        var withIoU = rule
        withIoU.minimumPredictedIoU = 0.5
        XCTAssertEqual(withIoU.reason(area: 90, previousArea: 100, keyArea: 120, predictedIoU: 0.25), "predicted IoU 0.25")
        XCTAssertNil(rule.reason(area: 90, previousArea: 100, keyArea: 120, predictedIoU: 0.25), "IoU is off by default")
    }

    func testStopRuleScalesWithTheKeySliceAndLooksBackOverAWindow() {
        let rule = Rule()
        XCTAssertEqual(rule.reason(area: 49, recentAreas: [500, 60], keyArea: 500, predictedIoU: 0.9),
                       "area 49 px is under 0.1 of the key slice's 500 px")
        XCTAssertNil(rule.reason(area: 50, recentAreas: [500, 60], keyArea: 500, predictedIoU: 0.9), "10 % of the key walks on")
        // A noisy small mask: 163, 89, 117, then 175 is 1.5x and 58 px over the previous slice
        // but not over the largest of the last three.
        XCTAssertNil(rule.reason(area: 175, recentAreas: [179, 163, 89, 117], keyArea: 179, predictedIoU: 0.9))
        var one = rule
        one.growthWindow = 1
        XCTAssertEqual(one.reason(area: 175, recentAreas: [179, 163, 89, 117], keyArea: 179, predictedIoU: 0.9),
                       "area grew 175 / 117 px over the previous slice")
        XCTAssertEqual(rule.reason(area: 300, recentAreas: [400, 200, 150, 120], keyArea: 400, predictedIoU: 0.9),
                       "area grew 300 / 200 px over the largest of the last 3 slices")
        var scaled = rule
        scaled.minimumGrowthOverKey = 0.5
        XCTAssertNil(scaled.reason(area: 300, recentAreas: [400, 200, 150, 120], keyArea: 400, predictedIoU: 0.9),
                     "growth by 100 px is within half the key slice's 400 px")
        XCTAssertNotNil(scaled.reason(area: 401, recentAreas: [400, 200, 150, 120], keyArea: 400, predictedIoU: 0.9))
    }

    func testEmptyOnlyRuleStopsOnlyAtAnEmptyMask() {
        let rule = Rule.emptyOnly
        XCTAssertNil(rule.reason(area: 1, previousArea: 1000, keyArea: 1000, predictedIoU: 0))
        XCTAssertNil(rule.reason(area: 5000, previousArea: 10, keyArea: 10, predictedIoU: 0))
        XCTAssertEqual(rule.reason(area: 0, previousArea: 10, keyArea: 10, predictedIoU: 1), "empty mask")
    }

    /// Seven slices of the disk image; the 3-D box covers slices 1...5, so the key slice is 3 and
    /// every slice of the range (and none outside it) is segmented, the key slice first.
    func testBox3DSegmentsEverySliceOfItsRangeFromTheMiddleOne() throws {
        let volume = Self.volume(slices: 7)
        let result = try VolumePropagation().run(volume: volume, axis: .axial, box3d: [2, 2, 1, 30, 30, 5],
                                                 predictor: try predictor())
        XCTAssertEqual(result.slices.first?.slice, 3)
        XCTAssertEqual(result.slices.first?.box, [2, 2, 30, 30])
        XCTAssertEqual(Set(result.slices.map { $0.slice }), Set(1...5))
        XCTAssertTrue(result.stops.isEmpty)
        // Nothing outside the range is labelled.
        let hw = 36 * 40
        for z in [0, 6] { XCTAssertEqual(result.mask[(z * hw)..<((z + 1) * hw)].reduce(0) { $0 + Int($1) }, 0) }
        // An even span rounds the middle down, as int((z1 - z0) / 2 + z0) does.
        let even = try VolumePropagation().run(volume: volume, axis: .axial, box3d: [2, 2, 2, 30, 30, 5],
                                               predictor: try predictor())
        XCTAssertEqual(even.slices.first?.slice, 3)
    }

    func testBadBox3DAndRangesGetTheirErrors() throws {
        let volume = Self.volume(slices: 4)
        let predictor = try predictor()
        XCTAssertThrowsError(try VolumePropagation().run(volume: volume, axis: .axial, box3d: [2, 2, 1, 30, 30], predictor: predictor)) {
            XCTAssertEqual($0 as? ImagePromptError, .badBox3D([2, 2, 1, 30, 30], reason: "expected 6 numbers"))
        }
        XCTAssertThrowsError(try VolumePropagation().run(volume: volume, axis: .axial, box3d: [2, 2, 3, 30, 30, 1], predictor: predictor)) {
            guard case .badBox3D = $0 as? ImagePromptError else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try VolumePropagation().run(volume: volume, axis: .axial, keySlice: 1, box: [2, 2, 30, 30],
                                                         range: 0...4, predictor: predictor)) {
            XCTAssertEqual($0 as? ImagePromptError, .rangeOutside(lower: 0, upper: 4, key: 1, count: 4))
        }
        XCTAssertThrowsError(try VolumePropagation().run(volume: volume, axis: .axial, keySlice: 3, box: [2, 2, 30, 30],
                                                         range: 0...2, predictor: predictor)) {
            XCTAssertEqual($0 as? ImagePromptError, .rangeOutside(lower: 0, upper: 2, key: 3, count: 4))
        }
    }

    /// Without a range, the kept slices are contiguous around the key slice, none is empty, and a
    /// walk that ends before the volume does says why (which slices the random model's masks
    /// reach is its own business; these properties hold whatever they are).
    func testWalkWithoutRangeKeepsContiguousNonEmptySlices() throws {
        let volume = Self.volume(slices: 6)
        var propagation = VolumePropagation()
        propagation.stopRule = .emptyOnly
        let result = try propagation.run(volume: volume, axis: .axial, keySlice: 3, box: [2, 2, 30, 30], range: nil,
                                         predictor: try predictor())
        let kept = result.slices.map { $0.slice }
        XCTAssertEqual(kept.first, 3)
        // Kept slices are contiguous around the key slice, and each walk either reached the end
        // of the volume or says why it stopped.
        XCTAssertEqual(Set(kept), Set((kept.min() ?? 3)...(kept.max() ?? 3)))
        if kept.max()! < 5 { XCTAssertNotNil(result.stops["upward"]) }
        if kept.min()! > 0 { XCTAssertNotNil(result.stops["downward"]) }
        for record in result.slices { XCTAssertGreaterThan(record.area, 0) }
    }

    /// PredictorTests' small random SAM on the reference backend.
    func predictor() throws -> Predictor {
        Predictor(model: try SAMModel.random(PredictorTests.config(.sam), seed: 7), backend: ReferenceBackend())
    }

    static func volume(slices: Int) -> Volume {
        let images = (0..<slices).map { PredictorTests.image(height: 40, width: 36, seed: $0) }
        var voxels = [Float](repeating: 0, count: 36 * 40 * slices)
        for (z, s) in images.enumerated() {
            for y in 0..<40 { for x in 0..<36 { voxels[(z * 40 + y) * 36 + x] = s.pixels[y * 36 + x] } }
        }
        return Volume(voxels: voxels, dims: [36, 40, slices], spacing: [1, 1, 1],
                      affine: Affine([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]), frame: .ras,
                      sourceType: .float32, source: "synthetic")
    }
}
