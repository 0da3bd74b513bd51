import XCTest
import TensorRuntime
@testable import MedicalImaging

final class DICOMTests: XCTestCase {
    /// Every supported DICOM fixture against pydicom: size, spacing, modality, rescaled pixels.
    func testAgreesWithPydicom() throws {
        let names = Fixtures.expected.keys.filter { $0.hasPrefix("dicom/") && $0 != "dicom/mono1.dcm" }.sorted()
        XCTAssertEqual(names.count, 7)
        for name in names {
            let e = Fixtures.entry(name)
            let v = try DICOMImage.read(Fixtures.url(name)).volume()
            XCTAssertEqual(v.dims, [(e["columns"] as! Int), (e["rows"] as! Int), 1], name)
            for (a, b) in zip(v.spacing, doubles(e["spacing"])) { assertClose(a, b, rtol: 1e-9, name) }
            XCTAssertEqual(v.modality, e["modality"] as? String, name)
            XCTAssertEqual(v.frame, .lps)
            for s in e["samples"] as! [[Any]] {
                let rc = doubles(s[0]).map(Int.init)  // NumPy (row, column)
                assertClose(Double(v[rc[1], rc[0], 0]), (s[1] as! NSNumber).doubleValue, rtol: 1e-6, "\(name) pixel \(rc)")
            }
            let sum = v.voxels.reduce(0.0) { $0 + Double($1) }
            assertClose(sum, (e["sum"] as! NSNumber).doubleValue, rtol: 1e-6, "\(name) sum")
            assertClose(Double(v.valueRange!.lowerBound), (e["min"] as! NSNumber).doubleValue, rtol: 1e-6, "\(name) min")
            assertClose(Double(v.valueRange!.upperBound), (e["max"] as! NSNumber).doubleValue, rtol: 1e-6, "\(name) max")
        }
    }

    func testTransferSyntaxes() throws {
        XCTAssertEqual(try DICOMImage.read(Fixtures.url("dicom/MR_small_implicit.dcm")).transferSyntaxUID, "1.2.840.10008.1.2")
        XCTAssertEqual(try DICOMImage.read(Fixtures.url("dicom/image_dfl.dcm")).transferSyntaxUID, "1.2.840.10008.1.2.1.99")
        // The implicit and explicit copies of MR_small hold the same image.
        XCTAssertEqual(try DICOMImage.read(Fixtures.url("dicom/MR_small_implicit.dcm")).pixels,
                       try DICOMImage.read(Fixtures.url("dicom/MR_small.dcm")).pixels)
    }

    /// The CT geometry: LPS affine from ImagePositionPatient/ImageOrientationPatient and PixelSpacing.
    func testCTAffine() throws {
        let im = try DICOMImage.read(Fixtures.url("dicom/CT_small.dcm"))
        let v = im.volume()
        let p = im.imagePosition!, o = im.imageOrientation!, s = im.pixelSpacing!
        XCTAssertEqual(v.affine.column(0), o[0..<3].map { $0 * s[1] })
        XCTAssertEqual(v.affine.column(1), o[3..<6].map { $0 * s[0] })
        XCTAssertEqual([v.affine.m[0][3], v.affine.m[1][3], v.affine.m[2][3]], p)
        XCTAssertEqual(v.modality, "CT")
        XCTAssertEqual(v.sourceType, .int16)
    }

    func testMonochrome1IsInvertedWithinStoredRange() throws {
        let e = Fixtures.entry("dicom/mono1.dcm")
        let stored = (e["stored"] as! [[Any]]).map { doubles($0) }
        let slope = e["slope"] as! Double, intercept = e["intercept"] as! Double
        let v = try DICOMImage.read(Fixtures.url("dicom/mono1.dcm")).volume()
        // 12 signed bits represent -2048...2047; inversion maps x to (lo + hi) - x after rescale.
        let lo = -2048 * slope + intercept, hi = 2047 * slope + intercept
        for (r, row) in stored.enumerated() {
            for (c, x) in row.enumerated() {
                assertClose(Double(v[c, r, 0]), lo + hi - (x * slope + intercept), "pixel \(r),\(c)")
            }
        }
    }

    func testSeriesIsSortedAlongTheNormal() throws {
        let e = Fixtures.entry("series")
        let v = try DICOMSeries.read(folder: Fixtures.url("series"))
        let kji = (e["voxels_kji"] as! [[[Any]]]).map { $0.map { doubles($0) } }
        let intercept = e["intercept"] as! Double
        XCTAssertEqual(v.dims, [6, 5, 4])
        for k in 0..<4 { for j in 0..<5 { for i in 0..<6 {
            XCTAssertEqual(Double(v[i, j, k]), kji[k][j][i] + intercept, "voxel \(i),\(j),\(k)")
        } } }
        for (a, b) in zip(v.spacing, doubles(e["spacing"])) { assertClose(a, b, rtol: 1e-4) }
        let row = doubles(e["row"]), col = doubles(e["column"]), n = doubles(e["normal"]), o = doubles(e["origin"])
        let expected: [[Double]] = (0..<3).map { r in [row[r] * 0.5, col[r] * 0.75, n[r] * 2.5, o[r]] } + [[0, 0, 0, 1]]
        assertAffine(v.affine, expected, tol: 1e-3)
    }

    func testBadInputs() {
        assertImagingError(.missing, ["no_pixel_data.dcm", "(7FE0,0010) PixelData"]) {
            try DICOMImage.read(Fixtures.url("bad/no_pixel_data.dcm"))
        }
        assertImagingError(.inconsistent, ["two_series", "SeriesInstanceUID", "1.2.826.0.1.3680043.8.498.10",
                                           "1.2.826.0.1.3680043.8.498.20"]) {
            try DICOMSeries.read(folder: Fixtures.url("bad/two_series"))
        }
        assertImagingError(.truncated, ["MR_truncated.dcm", "PixelData"]) {
            try DICOMImage.read(Fixtures.url("dicom/MR_truncated.dcm"))
        }
        assertImagingError(.corrupt, ["grey8.png", "DICM"]) {
            try DICOMImage.read(Fixtures.url("raster/grey8.png"))
        }
        assertImagingError(.missing, ["holds no DICOM"]) {
            try DICOMSeries.read(folder: Fixtures.url("raster"))
        }
    }

    /// Every prefix of a valid file, and bytes flipped one at a time, give typed errors or a
    /// decoded image; never a crash.
    func testDamagedFilesNeverCrash() throws {
        let bytes = [UInt8](try Data(contentsOf: Fixtures.url("dicom/sequences_implicit.dcm")))
        // The file ends with 126 bytes of (FFFC,FFFC) trailing padding after the 40 pixel bytes;
        // reading stops after the pixel data, so only cuts before its end must fail.
        let pixelEnd = bytes.count - 8 - 126
        for cut in stride(from: 0, to: pixelEnd, by: 5) {
            XCTAssertThrowsError(try DICOMImage.decode(DICOMDataSet.parse(Array(bytes.prefix(cut)), path: "cut")),
                                 "cut at \(cut) of \(bytes.count)") {
                XCTAssertTrue($0 is ImagingError, "\($0)")
            }
        }
        var rng = SplitMix64(seed: 0xD1C0)   // seeded: a failure names a mutant that reproduces
        for trial in 0..<200 {
            var b = bytes
            let at = Int.random(in: 132..<min(b.count, 1400), using: &rng)
            b[at] = UInt8.random(in: 0...255, using: &rng)
            do { _ = try DICOMImage.decode(DICOMDataSet.parse(b, path: "flip")) } catch is ImagingError {} catch {
                XCTFail("trial \(trial), byte \(at) set to \(b[at]): non-imaging error \(error)")
            }
        }
    }

    func testSequencesAreSkipped() throws {
        for name in ["dicom/sequences_explicit.dcm", "dicom/sequences_implicit.dcm"] {
            let ds = try DICOMDataSet.parse([UInt8](try Data(contentsOf: Fixtures.url(name))), path: name)
            XCTAssertTrue(ds.contains(DICOMTag(0x0008, 0x1032)), "ProcedureCodeSequence recorded in \(name)")
            XCTAssertEqual(try ds.uint16(.rows), 5)
        }
    }
}
