import Foundation
@testable import Segmentation
import XCTest

/// Dice, IoU, NSD, HD95 and ASD against DeepMind's surface-distance package on real masks
/// (scripts/reference/metrics.py wrote the fixture): Dice/IoU/NSD within 1e-6, distances within
/// 1e-4 (mm or pixels), edge cases (empty prediction, both empty, one-pixel objects) included.
final class SegmentationMetricsTests: XCTestCase {
    struct Case: Decodable {
        var name: String
        var depth: Int?
        var height: Int
        var width: Int
        var spacing: [Double]
        var gt: String
        var pred: String
        var dice: Double?
        var iou: Double?
        var nsd: [String: Value]?
        var hd95: Value?
        var hd100: Value?
        var asd_gt_to_pred: Value?
        var asd_pred_to_gt: Value?
    }

    /// A number, or "inf".
    struct Value: Decodable {
        var value: Double
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let d = try? c.decode(Double.self) { value = d } else {
                let s = try c.decode(String.self)
                guard s == "inf" else { throw DecodingError.dataCorruptedError(in: c, debugDescription: s) }
                value = .infinity
            }
        }
    }

    static func unpack(_ hex: String, count: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            bytes.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        return (0..<count).map { (bytes[$0 / 8] >> (7 - UInt8($0 % 8))) & 1 }
    }

    func assertClose(_ got: Double?, _ want: Double?, _ tolerance: Double, _ what: String) {
        switch (got, want) {
        case (nil, nil): return
        case (let g?, let w?):
            if w.isInfinite { XCTAssertEqual(g, w, what); return }
            XCTAssertEqual(g, w, accuracy: tolerance, what)
        default: XCTFail("\(what): got \(String(describing: got)), want \(String(describing: want))")
        }
    }

    func testMetricsEqualDeepMindSurfaceDistanceOnRealMasks() throws {
        let url = Bundle.module.url(forResource: "Fixtures/metrics/metrics2d", withExtension: "json")!
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: url))
        XCTAssertEqual(cases.count, 8)
        for c in cases {
            let n = c.height * c.width
            let m = try MaskComparison(groundTruth: Self.unpack(c.gt, count: n), prediction: Self.unpack(c.pred, count: n),
                                       height: c.height, width: c.width, spacing: (c.spacing[0], c.spacing[1]))
            assertClose(m.dice, c.dice, 1e-12, "\(c.name) dice")
            assertClose(m.iou, c.iou, 1e-12, "\(c.name) iou")
            for (tolerance, want) in c.nsd ?? [:] {
                assertClose(m.surfaceDice(tolerance: Double(tolerance)!), want.value, 1e-6, "\(c.name) NSD@\(tolerance)")
            }
            if c.nsd == nil { XCTAssertNil(m.surfaceDice(tolerance: 2), c.name) }
            assertClose(m.hausdorff(percent: 95), c.hd95?.value, 1e-4, "\(c.name) HD95")
            assertClose(m.hausdorff(percent: 100), c.hd100?.value, 1e-4, "\(c.name) HD100")
            switch (c.asd_gt_to_pred?.value, c.asd_pred_to_gt?.value) {
            case (let a?, let b?): assertClose(m.averageSurfaceDistance, (a + b) / 2, 1e-4, "\(c.name) ASD")
            // One mask empty: the package gives inf one way and NaN (0/0) the other; we say inf.
            case (let a?, nil) where a.isInfinite: XCTAssertEqual(m.averageSurfaceDistance, .infinity, c.name)
            case (nil, let b?) where b.isInfinite: XCTAssertEqual(m.averageSurfaceDistance, .infinity, c.name)
            default: XCTAssertNil(m.averageSurfaceDistance, c.name)
            }
        }
    }

    struct Fixture3D: Decodable {
        struct Areas: Decodable { var spacing: [Double]; var areas: [Double] }
        var cases: [Case]
        var surface_areas: [Areas]
    }

    /// 3-D: the marching-cubes surface area of every 2x2x2 code equals the package's table (at
    /// unit and anisotropic spacings), and the metrics of real MNI152 grey/white-matter masks at
    /// anisotropic voxel spacings equal the package's.
    func testMetrics3DEqualDeepMindSurfaceDistanceOnRealMasks() throws {
        let url = Bundle.module.url(forResource: "Fixtures/metrics/metrics3d", withExtension: "json")!
        let fixture = try JSONDecoder().decode(Fixture3D.self, from: Data(contentsOf: url))
        XCTAssertEqual(fixture.surface_areas.count, 3)
        for t in fixture.surface_areas {
            let got = SurfaceDistances.surfaceAreas(t.spacing)
            XCTAssertEqual(got.count, 256)
            for code in 0..<256 { XCTAssertEqual(got[code], t.areas[code], accuracy: 1e-12, "code \(code) at \(t.spacing)") }
        }
        XCTAssertEqual(fixture.cases.count, 6)
        for c in fixture.cases {
            let depth = try XCTUnwrap(c.depth, c.name)
            let n = depth * c.height * c.width
            let m = try MaskComparison(groundTruth: Self.unpack(c.gt, count: n), prediction: Self.unpack(c.pred, count: n),
                                       depth: depth, height: c.height, width: c.width,
                                       spacing: (c.spacing[0], c.spacing[1], c.spacing[2]))
            XCTAssertGreaterThan(m.groundTruthArea, 1000, c.name)
            assertClose(m.dice, c.dice, 1e-12, "\(c.name) dice")
            assertClose(m.iou, c.iou, 1e-12, "\(c.name) iou")
            for (tolerance, want) in c.nsd ?? [:] {
                assertClose(m.surfaceDice(tolerance: Double(tolerance)!), want.value, 1e-6, "\(c.name) NSD@\(tolerance)")
            }
            assertClose(m.hausdorff(percent: 95), c.hd95?.value, 1e-4, "\(c.name) HD95")
            assertClose(m.hausdorff(percent: 100), c.hd100?.value, 1e-4, "\(c.name) HD100")
            if let a = c.asd_gt_to_pred?.value, let b = c.asd_pred_to_gt?.value {
                assertClose(m.averageSurfaceDistance, (a + b) / 2, 1e-4, "\(c.name) ASD")
            } else {
                XCTAssertEqual(m.averageSurfaceDistance, .infinity, c.name)
            }
        }
    }

    func testSmoothedDiceIsCOSMOSsFormula() throws {
        let gt: [UInt8] = [1, 1, 0, 0], pred: [UInt8] = [1, 0, 1, 0]
        let m = try MaskComparison(groundTruth: gt, prediction: pred, height: 2, width: 2)
        XCTAssertEqual(m.smoothedDice, (2 * 1 + 0.1) / (4 + 0.1), accuracy: 1e-15)
        XCTAssertEqual(m.dice!, 0.5, accuracy: 1e-15)
        let empty = try MaskComparison(groundTruth: [0, 0], prediction: [0, 0], height: 1, width: 2)
        XCTAssertEqual(empty.smoothedDice, 1)
        XCTAssertNil(empty.dice)
    }

    func testMismatchedMasksAndSpacingAreRefused() {
        XCTAssertThrowsError(try MaskComparison(groundTruth: [1, 0, 0], prediction: [1, 0], height: 1, width: 2)) {
            XCTAssertEqual($0 as? MetricsError, .shapeMismatch(expected: 2, groundTruth: 3, prediction: 2))
        }
        XCTAssertThrowsError(try MaskComparison(groundTruth: [1, 0], prediction: [1, 0], height: 1, width: 2, spacing: (0, 1))) {
            XCTAssertEqual($0 as? MetricsError, .badSpacing([0, 1]))
        }
    }
}
