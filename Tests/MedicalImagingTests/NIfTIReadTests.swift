import XCTest
@testable import MedicalImaging

final class NIfTIReadTests: XCTestCase {
    /// Every NIfTI fixture against nibabel: shape, affine, zooms, voxel samples, sum, min, max.
    func testAgreesWithNibabel() throws {
        let names = Fixtures.expected.keys.filter { $0.hasPrefix("nifti/") }.sorted()
        XCTAssertGreaterThanOrEqual(names.count, 16)
        for name in names {
            let e = Fixtures.entry(name)
            let parts = name.split(separator: "#")
            let url = Fixtures.url(String(parts[0]))
            let v = try NIfTIReader.read(url, volumeIndex: parts.count > 1 ? Int(parts[1]) : nil)
            let shape = doubles(e["shape"]).map(Int.init)
            XCTAssertEqual(v.dims, shape + [Int](repeating: 1, count: 3 - shape.count), name)
            assertAffine(v.rasAffine, matrix(e["affine"]))
            XCTAssertEqual(v.frame, .ras)
            for (a, b) in zip(v.spacing, doubles(e["zooms"])) { assertClose(a, abs(b), rtol: 1e-6, name) }
            XCTAssertEqual(v.sourceType.rawValue, e["dtype"] as? String, name)
            for s in e["samples"] as! [[Any]] {
                let idx = doubles(s[0]).map(Int.init) + [0, 0]
                assertClose(Double(v[idx[0], idx[1], idx[2]]), (s[1] as! NSNumber).doubleValue, rtol: 1e-6,
                            atol: 1e-6, "\(name) voxel \(idx)")
            }
            let sum = v.voxels.reduce(0.0) { $0 + Double($1) }
            assertClose(sum, (e["sum"] as! NSNumber).doubleValue, rtol: 1e-5, atol: 1e-3, "\(name) sum")
            assertClose(Double(v.valueRange!.lowerBound), (e["min"] as! NSNumber).doubleValue, rtol: 1e-6, "\(name) min")
            assertClose(Double(v.valueRange!.upperBound), (e["max"] as! NSNumber).doubleValue, rtol: 1e-6, "\(name) max")
        }
    }

    func testHeaderFieldsOfSlopeFile() throws {
        let (h, _) = try NIfTIReader.readHeader(Fixtures.url("nifti/syn_slope_sform.nii.gz"))
        XCTAssertEqual(h.version, 1)
        XCTAssertEqual(h.sclSlope, 2.5)
        XCTAssertEqual(h.sclInter, -100)
        XCTAssertEqual(h.geometry.sformCode, 1)
        XCTAssertEqual(h.geometry.qformCode, 1)
        // The qform differs from the sform, and the sform is the one reported.
        XCTAssertFalse(h.geometry.qformAffine.isClose(to: h.geometry.sformAffine))
    }

    func testBigEndianAndNIfTI2AreDetected() throws {
        XCTAssertTrue(try NIfTIReader.readHeader(Fixtures.url("nifti/anatomical.nii")).0.bigEndian)
        XCTAssertEqual(try NIfTIReader.readHeader(Fixtures.url("nifti/example_nifti2.nii.gz")).0.version, 2)
        XCTAssertEqual(try NIfTIReader.readHeader(Fixtures.url("nifti/syn_nifti2.nii")).0.version, 2)
    }

    func testFourDimensionalNeedsAVolumeIndex() {
        assertImagingError(.unsupported, ["example_nifti2.nii.gz", "dim", "2 volumes"]) {
            try NIfTIReader.read(Fixtures.url("nifti/example_nifti2.nii.gz"))
        }
        assertImagingError(.invalidArgument, ["volume index", "is 2"]) {
            try NIfTIReader.read(Fixtures.url("nifti/example_nifti2.nii.gz"), volumeIndex: 2)
        }
    }

    func testBadInputs() {
        assertImagingError(.truncated, ["truncated.nii.gz", "gzip stream", "ends early"]) {
            try NIfTIReader.read(Fixtures.url("bad/truncated.nii.gz"))
        }
        assertImagingError(.truncated, ["truncated_data.nii", "data", "needs 240"]) {
            try NIfTIReader.read(Fixtures.url("bad/truncated_data.nii"))
        }
        assertImagingError(.corrupt, ["corrupt_sizeof_hdr.nii", "sizeof_hdr", "is 123", "expected 348"]) {
            try NIfTIReader.read(Fixtures.url("bad/corrupt_sizeof_hdr.nii"))
        }
        assertImagingError(.unsupported, ["complex_datatype.nii", "datatype", "32 (complex64)"]) {
            try NIfTIReader.read(Fixtures.url("bad/complex_datatype.nii"))
        }
        assertImagingError(.corrupt, ["bad_magic.nii", "magic", "n+1"]) {
            try NIfTIReader.read(Fixtures.url("bad/bad_magic.nii"))
        }
        assertImagingError(.corrupt, ["not_gzip.nii.gz", "gzip"]) {
            try NIfTIReader.read(Fixtures.url("bad/not_gzip.nii.gz"))
        }
        assertImagingError(.unreadable, ["missing.nii", "no such file"]) {
            try NIfTIReader.read(Fixtures.url("missing.nii"))
        }
    }

    /// Every prefix of a valid file is rejected with a typed error (never a crash).
    func testEveryTruncationIsATypedError() throws {
        let bytes = try Data(contentsOf: Fixtures.url("nifti/syn_int16.nii"))
        let dir = Fixtures.tempFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        for cut in stride(from: 0, to: bytes.count, by: 7) {
            let url = dir.appendingPathComponent("cut.nii")
            try bytes.prefix(cut).write(to: url)
            XCTAssertThrowsError(try NIfTIReader.read(url)) { XCTAssertTrue($0 is ImagingError, "\($0)") }
        }
    }
}
