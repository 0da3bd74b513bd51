import Foundation
import Segmentation
import XCTest

/// The automatic mask generator's building blocks against values segment-anything's
/// `utils/amg.py` (and torchvision's NMS rules) computed on small inputs
/// (Fixtures/everything/units.json, written by scripts/reference/everything.py).
final class EverythingUnitTests: XCTestCase {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/everything/units.json")
    static var units: [String: Any] {
        get throws { try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any] }
    }

    func testPointGridsAreBitEqualToNumPy() throws {
        // JSONDecoder: Linux Foundation's JSONSerialization can read a double a few ulps off.
        struct Units: Decodable { var grids: [String: [[Double]]] }
        let grids = try JSONDecoder().decode(Units.self, from: Data(contentsOf: Self.url)).grids
        for (n, expected) in grids {
            let got = PointGrid.build(pointsPerSide: Int(n)!)
            XCTAssertEqual(got.map { [$0.x, $0.y] }, expected, "build_point_grid(\(n))")
        }
        let counts = try Self.units["layer_grids"] as! [Int]
        XCTAssertEqual(PointGrid.layers(pointsPerSide: 32, cropLayers: 3, downscaleFactor: 2).map(\.count), counts)
    }

    func testCropBoxes() throws {
        for c in try Self.units["crop_boxes"] as! [[String: Any]] {
            let size = c["size"] as! [Int]
            let boxes = CropBox.generate(height: size[0], width: size[1], layers: c["layers"] as! Int,
                                         overlapRatio: c["ratio"] as! Double)
            XCTAssertEqual(boxes.map(\.xyxy), c["boxes"] as! [[Int]], "generate_crop_boxes(\(size), \(c["layers"]!))")
            XCTAssertEqual(boxes.map(\.layer), c["layer_idxs"] as! [Int])
        }
        // The example of docs/sam-spec.md §5.2.
        XCTAssertEqual(CropBox.generate(height: 1500, width: 2250, layers: 1, overlapRatio: 512.0 / 1500).map(\.xyxy),
                       [[0, 0, 2250, 1500], [0, 0, 1381, 1006], [0, 494, 1381, 1500], [869, 0, 2250, 1006], [869, 494, 2250, 1500]])
    }

    func testStabilityScore() throws {
        let s = try Self.units["stability"] as! [String: Any]
        let logits = s["logits"] as! [[[Double]]]
        for (name, offset) in [("scores", 1.0), ("scores_offset_half", 0.5)] {
            let expected = s[name] as! [Double]
            for (i, mask) in logits.enumerated() {
                let flat = mask.flatMap { $0 }.map(Float.init)
                XCTAssertEqual(MaskGeometry.stabilityScore(flat, offset: offset), Float(expected[i]), "\(name)[\(i)]")
            }
        }
        // No pixel above the low cut-off: 0/0, which no threshold keeps.
        XCTAssertTrue(MaskGeometry.stabilityScore([-3, -2], offset: 1).isNaN)
    }

    func testRLEIsColumnMajorStartingWithZerosAndCOCOStringsMatchPycocotools() throws {
        for (i, r) in (try Self.units["rle"] as! [[String: Any]]).enumerated() {
            let rows = r["mask"] as! [[Int]]
            let h = rows.count, w = rows[0].count
            let mask = rows.flatMap { $0 }.map(UInt8.init)
            let rle = MaskRLE(rowMajor: mask, height: h, width: w)
            XCTAssertEqual(rle.counts, r["counts"] as! [Int], "mask \(i)")
            XCTAssertEqual(rle.area, r["area"] as! Int)
            XCTAssertEqual(rle.cocoString, r["coco"] as! String)
            XCTAssertEqual(MaskRLE(cocoString: r["coco"] as! String, height: h, width: w), rle)
            XCTAssertEqual(rle.decode(), mask)
            XCTAssertEqual(MaskGeometry.box(mask, height: h, width: w), r["box"] as! [Int])
        }
        let big = try Self.units["rle_big"] as! [String: Any]
        let size = big["size"] as! [Int]
        let rle = MaskRLE(height: size[0], width: size[1], counts: big["counts"] as! [Int])
        XCTAssertEqual(rle.cocoString, big["coco"] as! String)
        XCTAssertEqual(MaskRLE(cocoString: big["coco"] as! String, height: size[0], width: size[1]), rle)
        XCTAssertEqual(MaskRLE(rowMajor: rle.decode(), height: size[0], width: size[1]), rle)
    }

    func testCropRLEEqualsTheUncroppedMasksRLE() {
        // A 3x4 crop at (2, 1) of a 6x7 image, first crop pixel set.
        let crop: [UInt8] = [1, 0, 1, 1,
                             0, 0, 1, 0,
                             1, 1, 1, 1]
        var full = [UInt8](repeating: 0, count: 6 * 7)
        for y in 0..<3 { for x in 0..<4 { full[(y + 1) * 7 + x + 2] = crop[y * 4 + x] } }
        XCTAssertEqual(MaskRLE(crop: crop, x0: 2, y0: 1, cropWidth: 4, cropHeight: 3, height: 6, width: 7),
                       MaskRLE(rowMajor: full, height: 6, width: 7))
        // A crop at the origin whose first pixel is set starts with a zero-length run of zeros.
        XCTAssertEqual(MaskRLE(crop: crop, x0: 0, y0: 0, cropWidth: 4, cropHeight: 3, height: 3, width: 4).counts.first, 0)
    }

    func testNMSKeepsTiesInIndexOrderLikeTorchvision() throws {
        let n = try Self.units["nms"] as! [String: Any]
        let boxes = (n["boxes"] as! [[Double]]).map { $0.map(Float.init) }
        let scores = (n["scores"] as! [Double]).map(Float.init)
        for (threshold, keep) in n["keep"] as! [String: [Int]] {
            XCTAssertEqual(BoxNMS.keep(boxes: boxes, scores: scores, threshold: Double(threshold)!), keep, "threshold \(threshold)")
        }
    }

    func testCropEdgeRule() throws {
        let e = try Self.units["edge"] as! [String: Any]
        let c = e["crop"] as! [Int], image = e["image"] as! [Int]
        let crop = CropBox(x0: c[0], y0: c[1], x1: c[2], y1: c[3], layer: 1)
        let near = (e["boxes"] as! [[Int]]).map {
            MaskGeometry.isNearCropEdge($0, crop: crop, imageWidth: image[2], imageHeight: image[3])
        }
        XCTAssertEqual(near, e["near"] as! [Bool])
    }

    func testSmallRegionRemovalMatchesOpenCVComponents() throws {
        let s = try Self.units["small_regions"] as! [String: Any]
        let rows = s["mask"] as! [[Int]]
        let h = rows.count, w = rows[0].count
        let mask = rows.flatMap { $0 }.map(UInt8.init)
        for area in ["3", "5", "100"] {
            let e = s[area] as! [String: Any]
            let holes = SmallRegions.remove(mask, height: h, width: w, minArea: Double(area)!, mode: .holes)
            XCTAssertEqual(holes.mask, (e["holes"] as! [[Int]]).flatMap { $0 }.map(UInt8.init), "holes < \(area)")
            XCTAssertEqual(holes.changed, e["holes_changed"] as! Bool)
            let islands = SmallRegions.remove(holes.mask, height: h, width: w, minArea: Double(area)!, mode: .islands)
            XCTAssertEqual(islands.mask, (e["islands"] as! [[Int]]).flatMap { $0 }.map(UInt8.init), "islands < \(area)")
            XCTAssertEqual(islands.changed, e["islands_changed"] as! Bool)
        }
    }

    func testBadParametersGetTypedErrors() {
        func error(_ change: (inout EverythingParameters) -> Void, height: Int? = nil, width: Int? = nil) -> EverythingError? {
            var p = EverythingParameters()
            change(&p)
            do { try p.validate(imageHeight: height, imageWidth: width); return nil } catch { return error as? EverythingError }
        }
        XCTAssertNil(error { _ in }, "the reference defaults are valid")
        XCTAssertEqual(error { $0.pointsPerSide = 0 }, .nonPositive(name: "points_per_side", value: 0))
        XCTAssertEqual(error { $0.pointsPerBatch = 0 }, .nonPositive(name: "points_per_batch", value: 0))
        XCTAssertEqual(error { $0.predIoUThresh = 1.5 }, .outsideUnitInterval(name: "pred_iou_thresh", value: 1.5))
        XCTAssertEqual(error { $0.stabilityScoreThresh = -0.1 }, .outsideUnitInterval(name: "stability_score_thresh", value: -0.1))
        XCTAssertEqual(error { $0.boxNMSThresh = .nan }.map { "\($0)".hasPrefix("box_nms_thresh is nan") }, true)
        XCTAssertEqual(error { $0.cropNLayers = 2; $0.pointsPerSide = 3; $0.cropNPointsDownscaleFactor = 2 },
                       .emptyLayerGrid(layer: 2, pointsPerSide: 3, factor: 2))
        XCTAssertEqual(error({ $0.cropNLayers = 3 }, height: 5, width: 4), .cropTooSmall(crop: [0, 6, 1, 5], layer: 2, height: 5, width: 4))
        XCTAssertEqual(error { $0.pointGrids = [[[0.5, 1.5]]] }, .pointOutsideUnitSquare(layer: 0, point: [0.5, 1.5]))
        XCTAssertEqual(error { $0.pointGrids = [[[0.5, 0.5]]]; $0.cropNLayers = 1 }, .pointGridCount(expected: 2, got: 1))
        XCTAssertTrue("\(EverythingError.nonPositive(name: "points_per_side", value: 0))".contains("expected an integer of at least 1"))
    }
}
