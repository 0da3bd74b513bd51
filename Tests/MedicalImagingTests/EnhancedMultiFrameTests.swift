import XCTest
@testable import MedicalImaging

/// Enhanced multi-frame DICOM (per-frame functional groups) against `Fixtures/enhanced.json`,
/// written with the fixtures by `make_enhanced_fixtures.py`: frames sorted along the normal, a
/// rescale per frame, several volumes chosen by index, a missing slice refused.
final class EnhancedMultiFrameTests: XCTestCase {
    private static let table: [String: [String: Any]] = {
        let data = try! Data(contentsOf: Fixtures.url("enhanced.json"))
        return try! JSONSerialization.jsonObject(with: data) as! [String: [String: Any]]
    }()

    func testVolumesMatchTheFunctionalGroups() throws {
        var checked = 0
        for (key, want) in Self.table.sorted(by: { $0.key < $1.key }) where want["error"] == nil {
            let parts = key.split(separator: "#")
            let url = Fixtures.url("enhanced/\(parts[0])")
            let index = parts.count > 1 ? Int(parts[1]) : nil
            guard case .volume(let v) = try MedicalImageFile.read(url, options: .init(volumeIndex: index)) else { return XCTFail(key) }
            XCTAssertEqual(v.dims, doubles(want["shape_ijk"]).map(Int.init), key)
            XCTAssertEqual(v.voxels.map(Double.init), doubles(want["voxels"]), key)
            assertAffine(v.lpsAffine, matrix(want["affine"]), tol: 1e-5)
            assertClose(v.spacing[2], 2.5, rtol: 1e-5, "\(key) slice spacing")
            checked += 1
        }
        XCTAssertEqual(checked, 4)
    }

    func testSeveralVolumesNeedAnIndex() {
        let url = Fixtures.url("enhanced/two_volumes.dcm")
        assertImagingError(.unsupported, ["two_volumes.dcm", "6 frames form 2 volumes of 3 slices", "volume index (0...1)"]) {
            try MedicalImageFile.read(url)
        }
        assertImagingError(.invalidArgument, ["volume index", "is 2", "0...1"]) {
            try MedicalImageFile.read(url, options: .init(volumeIndex: 2))
        }
    }

    func testMissingSliceIsRefused() {
        let fragments = (Self.table["missing_slice.dcm"]!["error"] as! [String])
        assertImagingError(.inconsistent, fragments) {
            try MedicalImageFile.read(Fixtures.url("enhanced/missing_slice.dcm"))
        }
    }

    /// The per-frame rescale is applied frame by frame in `DICOMImage.pixels` (file order).
    func testPerFrameRescaleInFileOrder() throws {
        let image = try DICOMImage.read(Fixtures.url("enhanced/reversed_rle.dcm"))
        XCTAssertEqual(image.frames, 4)
        XCTAssertEqual(image.framePositions?.count, 4)
        XCTAssertEqual(image.transferSyntaxUID, "1.2.840.10008.1.2.5")
        let implicit = try DICOMImage.read(Fixtures.url("enhanced/reversed_implicit.dcm"))
        XCTAssertEqual(image.pixels, implicit.pixels)
        XCTAssertEqual(image.framePositions, implicit.framePositions)
    }
}
