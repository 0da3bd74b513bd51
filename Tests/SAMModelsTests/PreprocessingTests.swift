import TensorRuntime
import XCTest
import SAMModels

/// Resizers against cv2 INTER_AREA, PIL bilinear and skimage order 3 on a deterministic picture.
final class PreprocessingTests: XCTestCase {
    /// The picture `scripts/reference/models.py` resizes: (x²·31 + y·17 + c·101 + x·y) mod 251.
    func pattern(_ h: Int, _ w: Int, _ cn: Int = 3) -> [Float] {
        var v = [Float](repeating: 0, count: h * w * cn)
        for y in 0..<h { for x in 0..<w { for c in 0..<cn { v[(y * w + x) * cn + c] = Float((x * x * 31 + y * 17 + c * 101 + x * y) % 251) } } }
        return v
    }

    func differing(_ a: [Float], _ b: [Float]) -> (count: Int, maxDiff: Float) {
        var n = 0, m: Float = 0
        for (x, y) in zip(a, b) where x != y { n += 1; m = max(m, abs(x - y)) }
        return (n, m)
    }

    func testLongSideGeometry() {
        XCTAssertEqual(Preprocessing.resizedSize(height: 300, width: 217, longSide: 256).width, 185)
        XCTAssertEqual(Preprocessing.resizedSize(height: 1500, width: 1100, longSide: 1024).width, 751)
        let t = ImageTransform(family: .liteMedSAM, originalHeight: 112, originalWidth: 128, resizedHeight: 224,
                               resizedWidth: 256, inputSize: 256)
        XCTAssertEqual(t.box([20, 30, 100, 95]), [40, 60, 200, 190])
    }

    func testAreaResizeMatchesOpenCV() throws {
        // Non-integer and integer (2×2 fast path) downscales, and a non-integer upscale.
        for (name, h, w) in [("area_300x217", 300, 217), ("area_512x260", 512, 260), ("area_100x73", 100, 73)] {
            let want = try Fixtures.tensor("preprocess", name)
            let got = AreaResize.resize(pattern(h, w), height: h, width: w, channels: 3,
                                        newHeight: want.shape[0], newWidth: want.shape[1])
            let d = differing(got, want.data)
            print("  \(name): \(d.count) of \(want.count) values differ, max \(d.maxDiff)")
            XCTAssertEqual(d.count, 0, name)
        }
    }

    func testPILBilinearMatchesPillow() throws {
        let meta = try Fixtures.meta("preprocess")
        for (name, h, w) in [("sam_1500x1100", 1500, 1100), ("sam_300x217", 300, 217)] {
            let want = try Fixtures.tensor("preprocess", "\(name).rows")
            let info = meta[name] as! [String: Any]
            let size = (info["output"] as! [Int])
            let got = PILBilinear.resize(pattern(h, w), height: h, width: w, channels: 3, newHeight: size[0], newWidth: size[1])
            XCTAssertEqual(Array(got.prefix(want.count)), want.data, name)
            XCTAssertEqual(got.reduce(0) { $0 + Int($1) }, info["sum"] as! Int, name)
        }
    }

    func testCubicSplineMatchesSkimage() throws {
        if isDebugBuild { throw XCTSkip("1024×1024 spline resizes are slow in a debug build; run with -c release") }
        let meta = try Fixtures.meta("preprocess")
        for (name, h, w) in [("medsam_100x90", 100, 90), ("medsam_1300x1200", 1300, 1200)] {
            let want = try Fixtures.tensor("preprocess", "\(name).rows")
            let got = CubicSplineResize.resize(pattern(h, w, 1), height: h, width: w, channels: 1, newHeight: 1024, newWidth: 1024)
            let d = differing(Array(got.prefix(want.count)), want.data)
            let sum = got.reduce(0) { $0 + Int($1) }
            print("  \(name): \(d.count) of \(want.count) stored values differ (max \(d.maxDiff)); sum \(sum) vs \((meta[name] as! [String: Any])["sum"]!)")
            XCTAssertLessThanOrEqual(d.maxDiff, 1, name)
            XCTAssertLessThanOrEqual(Double(d.count), 0.001 * Double(want.count), name)
        }
    }
}
